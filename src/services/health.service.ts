import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** Readiness: the database answers and the process is not on its way out. */
export class HealthService {
  readonly #db: Db;
  #shuttingDown = false;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Called first thing on SIGTERM so the load balancer stops sending traffic while requests drain. */
  markShuttingDown() {
    this.#shuttingDown = true;
  }

  async readiness() {
    const database = await Promise.race([
      sql`SELECT 1`.execute(this.#db).then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => setTimeout(resolve, 2_000, false).unref()),
    ]);
    const ready = database && !this.#shuttingDown;
    return { status: ready ? 'ready' : 'not ready', database, shutting_down: this.#shuttingDown };
  }
}
