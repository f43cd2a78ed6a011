import type { CompiledQuery } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';

export interface CursorPoolOptions {
  url: string;
  /** Connections, so reads through it at once: each holds one for as long as it is iterated. */
  max: number;
  /** How long a read waits for a connection before it fails as overload (pg-pool's own timeout error). */
  waitMs: number;
  /**
   * PostgreSQL's statement_timeout on these connections. A suspended portal stays one statement until
   * it is closed, so this bounds a whole read, the time its reader spends between batches included.
   */
  maxDurationMs: number;
  /** How the connections show in pg_stat_activity. */
  applicationName: string;
}

/** How long closing a cursor may take before its connection is given up as broken. */
const CLOSE_WAIT_MS = 2_000;

/** Undefined once the portal is closed and the connection ready for another query; why not, otherwise. */
async function closeCursor(cursor: Cursor, waitMs: number): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(new Error(`the cursor did not close within ${waitMs} ms`)), waitMs);
  });
  try {
    return await Promise.race([cursor.close().then(() => undefined), timedOut]);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Long reads (exports) on a small pool of their own, so they never take a connection order traffic
 * needs, each streamed through a server-side cursor: rows come `batchSize` at a time and the next batch
 * is asked for only when the reader wants it, so memory stays flat whatever the result's size.
 *
 * Stopping early (`return()` on the iterator: the reader went away) closes the portal and gives the
 * connection back. A connection that failed mid-read, or whose portal would not close, is destroyed
 * rather than pooled: pg-cursor's close waits for an answer a dead connection never sends, which
 * Kysely's own `.stream()` would wait on for ever, keeping its connection checked out.
 * @see https://node-postgres.com/apis/cursor
 * @see https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY (Execute with a row limit)
 */
export class CursorPool {
  readonly #pool: pg.Pool;

  constructor(opts: CursorPoolOptions) {
    this.#pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.max,
      connectionTimeoutMillis: opts.waitMs,
      idleTimeoutMillis: 30_000,
      statement_timeout: opts.maxDurationMs,
      application_name: opts.applicationName,
    });
    // As for the main pool (database.ts): a connection lost between reads must not crash the process.
    this.#pool.on('error', () => {});
    this.#pool.on('connect', (client) => void client.on('error', () => {}));
    // A read here streams, so its first rows should come at once: JIT compiles the whole plan first (300–400 ms
    // on a large estimate) and gains nothing on a plan of index lookups, which is what a streamed read is.
    // @see https://www.postgresql.org/docs/current/jit-decision.html
    this.#pool.on('connect', (client) => void client.query('SET jit = off').catch(() => {}));
  }

  /** The rows of `query`, a batch at a time, on one connection held until the iteration ends. */
  async *batches<R>(query: CompiledQuery<R>, batchSize: number): AsyncGenerator<R[], void, undefined> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      const cursor = client.query(new Cursor<R>(query.sql, [...query.parameters]));
      try {
        for (;;) {
          const rows = await cursor.read(batchSize);
          if (rows.length === 0) return;
          yield rows;
        }
      } catch (err) {
        broken = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        broken ??= await closeCursor(cursor, CLOSE_WAIT_MS);
      }
    } finally {
      client.release(broken);
    }
  }

  /** Waits for connections in use to be given back, then closes them all. */
  close() {
    return this.#pool.end();
  }
}
