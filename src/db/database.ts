import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { statementCachingClient } from './statement-cache.ts';
import type { Database } from './tables.ts';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Repository methods take either the shared handle or a transaction opened by a service. */
export type Executor = Db | Tx;

// Integers beyond 2^31 (bigint ids, count(*)) arrive as strings; counts here always fit a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export interface DatabaseOptions {
  url: string;
  max: number;
  /** How long a query may wait for a free connection before it fails as overload. */
  waitMs?: number;
  /** Prepared statements kept per connection; 0 prepares none (needed behind a transaction-pooling proxy). */
  statementCache?: number;
  /** Called once per executed statement: query counters in tests, latency metrics in production. */
  onQuery?: (durationMs: number, sql: string, failed: boolean) => void;
}

export function createDatabase(opts: DatabaseOptions) {
  const statementCache = opts.statementCache ?? 0;
  const pool = new pg.Pool({
    ...(statementCache > 0 ? { Client: statementCachingClient(statementCache) } : {}),
    connectionString: opts.url,
    max: opts.max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: opts.waitMs ?? 5_000,
    // A stuck statement must not hold a connection forever; request deadlines are shorter still.
    statement_timeout: 15_000,
    application_name: 'dabba',
  });
  // A client losing its connection (database restart) must not crash the process. pg-pool listens on
  // idle clients only; one checked out between queries when PostgreSQL goes away emits 'error' with no
  // listener, and the process exits. Its next query fails (a 503 or a retried job) and the pool drops it.
  pool.on('error', () => {});
  pool.on('connect', (client) => void client.on('error', () => {}));
  // Prepared statements are for skipping the parse; every run is still planned with its parameters,
  // because a generic plan chosen while a table was small (a seq scan of five orders) would be kept
  // by the connection long after the table has grown.
  // @see https://www.postgresql.org/docs/current/sql-prepare.html#SQL-PREPARE-NOTES
  if (statementCache > 0) pool.on('connect', (client) => void client.query('SET plan_cache_mode = force_custom_plan').catch(() => {}));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: opts.onQuery
      ? (event) => opts.onQuery?.(event.queryDurationMillis, event.query.sql, event.level === 'error')
      : undefined,
  });
  return { db, pool };
}

/**
 * True when the database cannot take this query now: it waited past the pool's limit for a
 * connection (pg-pool's own error), or PostgreSQL refused a new connection (too many clients,
 * 53300) or is not accepting them yet (starting or stopping, 57P03). Callers should see overload
 * (503, retry later), not a fault.
 * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function isPoolExhausted(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  return err.message === 'timeout exceeded when trying to connect' || code === '53300' || code === '57P03';
}
