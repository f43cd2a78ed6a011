import pg from 'pg';

/** PostgreSQL's answer when a prepared statement's result columns changed under it (a migration). */
const isStalePlan = (err: unknown) => (err as { code?: string }).code === '0A000' && /cached plan/.test((err as Error).message);

/**
 * A pg client that prepares each parameterised statement once per connection and runs it by name
 * afterwards, as asyncpg's statement cache does: PostgreSQL skips parsing it again. (Each run is
 * still planned with its parameters: createDatabase sets plan_cache_mode, since a generic plan made
 * while a table was small outlives its growth.) Bounded: past `size` distinct texts on a
 * connection, new ones run unnamed (pg has no way to unprepare). Statements without parameters
 * (BEGIN, migrations with several commands) keep the simple protocol. A statement whose plan went stale (a migration
 * changed its table) fails once and is prepared afresh on its next run.
 * @see https://node-postgres.com/features/queries#prepared-statements
 * @see https://magicstack.github.io/asyncpg/current/api/index.html#prepared-statements
 */
export function statementCachingClient(size: number): typeof pg.Client {
  const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
  return class StatementCachingClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      const names = new Map<string, string>();
      let next = 0;
      this.query = ((text: unknown, values?: unknown, callback?: unknown) => {
        if (typeof text !== 'string' || !Array.isArray(values) || values.length === 0) return query.call(this, text, values, callback);
        let name = names.get(text);
        if (name === undefined && names.size < size) {
          name = `dabba_${next++}`;
          names.set(text, name);
        }
        if (name === undefined) return query.call(this, text, values, callback);
        const result = query.call(this, { name, text, values }, callback);
        if (result instanceof Promise) {
          result.then(undefined, (err: unknown) => {
            if (isStalePlan(err)) names.delete(text);
          });
        }
        return result;
      }) as pg.Client['query'];
    }
  };
}
