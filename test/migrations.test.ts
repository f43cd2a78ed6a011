import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { createDatabase } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { createTestDatabase } from './helper.ts';

describe('migrations', () => {
  it('apply exactly once when several nodes start together on an empty database', async () => {
    const { url, drop } = await createTestDatabase({ migrated: false });
    const nodes = Array.from({ length: 4 }, () => createDatabase({ url, max: 2 }));
    try {
      const applied = await Promise.all(nodes.map(({ db }) => migrateToLatest(db)));
      const all = applied.flat().sort();
      assert.deepEqual(all, [...new Set(all)], `no migration was applied twice: ${JSON.stringify(applied)}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT name FROM kysely_migration');
      const columns = await client.query(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely%' AND (column_name LIKE '%cents' OR column_name LIKE '%_at' OR column_name = 'id')`,
      );
      await client.end();
      assert.deepEqual(rows.map((r) => r.name).sort(), all, 'every migration ran, each exactly once');
      assert.ok(all.includes('0001-initial-schema'));
      for (const c of columns.rows) {
        if (c.column_name.endsWith('cents')) assert.equal(c.data_type, 'integer', `${c.table_name}.${c.column_name}`);
        if (c.column_name.endsWith('_at')) assert.equal(c.data_type, 'timestamp with time zone', `${c.table_name}.${c.column_name}`);
        if (c.column_name === 'id' && c.table_name !== 'order_events') assert.equal(c.data_type, 'uuid', c.table_name);
      }
    } finally {
      await Promise.all(nodes.map(({ db }) => db.destroy()));
      await drop();
    }
  });
});
