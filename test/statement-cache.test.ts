import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createDatabase } from '../src/db/database.ts';
import { statementCachingClient } from '../src/db/statement-cache.ts';
import { createTestDatabase } from './helper.ts';

let url: string;
let drop: () => Promise<void>;
before(async () => {
  ({ url, drop } = await createTestDatabase({ migrated: false }));
});
after(() => drop());

/** One connection of a caching client, as a pool would make it. */
async function connect(size: number) {
  const Client = statementCachingClient(size);
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

const prepared = async (client: pg.Client) =>
  (await client.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements ORDER BY statement')).rows.map((r) => r.statement);

describe('statement cache', () => {
  it('prepares a parameterised statement once per connection and runs it by name afterwards', async () => {
    const client = await connect(8);
    try {
      for (let i = 0; i < 5; i++) assert.equal((await client.query('SELECT $1::int + 1 AS n', [i])).rows[0].n, i + 1);
      assert.deepEqual(await prepared(client), ['SELECT $1::int + 1 AS n']);
    } finally {
      await client.end();
    }
  });

  it('keeps at most `size` statements and runs the rest unnamed, with the same answers', async () => {
    const client = await connect(2);
    try {
      for (const k of [1, 2, 3, 4]) assert.equal((await client.query(`SELECT $1::int * ${k} AS n`, [10])).rows[0].n, 10 * k);
      assert.equal((await prepared(client)).length, 2);
    } finally {
      await client.end();
    }
  });

  it('leaves statements without parameters, such as several commands in one string, on the simple protocol', async () => {
    const client = await connect(8);
    try {
      await client.query('CREATE TEMP TABLE t (a int); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)');
      assert.equal((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n, 2);
      assert.deepEqual(await prepared(client), []);
    } finally {
      await client.end();
    }
  });

  it('after a migration changes a table under a prepared statement, fails it once, then prepares it afresh', async () => {
    const client = await connect(8);
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('CREATE TABLE menu (id int PRIMARY KEY, name text)');
      await other.query(`INSERT INTO menu VALUES (1, 'dal')`);
      const read = () => client.query('SELECT * FROM menu WHERE id = $1', [1]);
      assert.deepEqual((await read()).rows, [{ id: 1, name: 'dal' }]);
      await other.query(`ALTER TABLE menu ADD COLUMN price_cents int NOT NULL DEFAULT 500`);
      await assert.rejects(read, (err: Error & { code?: string }) => err.code === '0A000');
      assert.deepEqual((await read()).rows, [{ id: 1, name: 'dal', price_cents: 500 }]);
    } finally {
      await client.end();
      await other.end();
    }
  });

  it('has every pooled connection plan each run with its own parameters, not a generic plan made earlier', async () => {
    const { pool, db } = createDatabase({ url, max: 2, statementCache: 8 });
    try {
      const clients = await Promise.all([pool.connect(), pool.connect()]);
      for (const c of clients) {
        assert.equal((await c.query('SHOW plan_cache_mode')).rows[0].plan_cache_mode, 'force_custom_plan');
        c.release();
      }
    } finally {
      await db.destroy();
    }
  });
});
