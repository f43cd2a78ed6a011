import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** How long the database's answer is reused: a probe every second per instance is plenty for a load balancer. */
const ANSWER_TTL_MS = 1_000;
/** A database that has not answered by then counts as down. */
const CHECK_DEADLINE_MS = 2_000;

/**
 * Readiness: the database answers and the process is not on its way out.
 *
 * /readyz is unauthenticated and exempt from admission control and load shedding, so it must not be
 * a way to take pool connections from real requests: the database's answer is reused for a second,
 * callers arriving while a check runs share it, and there is never more than one check query at a
 * time, even when the last one outlived its deadline (the next check waits on that same query).
 * Shutting down is read on every call, so it turns the answer at once.
 */
export class HealthService {
  readonly #db: Db;
  #shuttingDown = false;
  #answer?: { database: boolean; at: number };
  #check?: Promise<boolean>;
  #query?: Promise<boolean>;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Called first thing on SIGTERM so the load balancer stops sending traffic while requests drain. */
  markShuttingDown() {
    this.#shuttingDown = true;
  }

  async readiness() {
    // Draining: no reason to ask the database; its last known answer is reported as it was.
    const database = this.#shuttingDown ? (this.#answer?.database ?? false) : await this.#database();
    const ready = database && !this.#shuttingDown;
    return { status: ready ? 'ready' : 'not ready', database, shutting_down: this.#shuttingDown };
  }

  #database(): Promise<boolean> {
    if (this.#answer && performance.now() - this.#answer.at < ANSWER_TTL_MS) return Promise.resolve(this.#answer.database);
    this.#check ??= this.#ask()
      .then((database) => {
        this.#answer = { database, at: performance.now() };
        return database;
      })
      .finally(() => {
        this.#check = undefined;
      });
    return this.#check;
  }

  async #ask(): Promise<boolean> {
    this.#query ??= sql`SELECT 1`
      .execute(this.#db)
      .then(
        () => true,
        () => false,
      )
      .finally(() => {
        this.#query = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, CHECK_DEADLINE_MS, false).unref();
    });
    try {
      return await Promise.race([this.#query, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
