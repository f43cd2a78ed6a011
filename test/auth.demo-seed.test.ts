import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDatabase } from '../src/db/database.ts';
import { DEMO_ACCOUNTS, DEMO_PASSWORD, seedDemoCity } from '../src/db/seed/demo-city.ts';
import { distanceKm } from '../src/domain/geo.ts';
import { type TestContext, databaseDigest, setup } from './helper.ts';

const MUMBAI = { lat: 19.076, lng: 72.8777 };

async function counts(ctx: TestContext) {
  const { rows } = await ctx.sql.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM couriers) AS couriers,
            (SELECT count(*)::int FROM restaurants) AS restaurants, (SELECT count(*)::int FROM menu_items) AS menu_items`,
  );
  return rows[0]!;
}

describe('the demo city seed', () => {
  it('fills an empty database once: restaurants around Mumbai with menus, couriers, and four demo accounts', async () => {
    const ctx = await setup({ background: false });
    assert.equal(await seedDemoCity(ctx.db), true);

    const { rows: restaurants } = await ctx.sql.query<{ id: string; lat: number; lng: number; cuisine: string; items: number }>(
      `SELECT r.id, r.lat, r.lng, r.cuisine, (SELECT count(*)::int FROM menu_items m WHERE m.restaurant_id = r.id) AS items
       FROM restaurants r`,
    );
    assert.ok(restaurants.length >= 20, `${restaurants.length} restaurants`);
    for (const r of restaurants) {
      const km = distanceKm(MUMBAI, r);
      assert.ok(km <= 8, `restaurant ${r.id} is ${km.toFixed(2)} km from the centre`);
      assert.ok(r.items >= 8 && r.items <= 20, `restaurant ${r.id} has ${r.items} menu items`);
    }
    const cuisines = new Set(restaurants.map((r) => r.cuisine));
    assert.ok(cuisines.size >= 5, `cuisines: ${[...cuisines].join(', ')}`);
    const { rows: couriers } = await ctx.sql.query<{ n: number; wrong_role: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE u.role <> 'courier')::int AS wrong_role
       FROM couriers c JOIN users u ON u.id = c.user_id`,
    );
    assert.ok(couriers[0]!.n >= 50, `${couriers[0]!.n} couriers`);
    assert.equal(couriers[0]!.wrong_role, 0);

    // The public API sees the seeded city as well.
    const nearby = await ctx.app.inject({ url: `/v1/restaurants?lat=${MUMBAI.lat}&lng=${MUMBAI.lng}&radius_km=8&limit=100` });
    assert.equal(nearby.statusCode, 200, nearby.body);
    assert.equal(nearby.json().items.length, restaurants.length);

    const tokens: Record<string, string> = {};
    for (const [role, email] of Object.entries(DEMO_ACCOUNTS)) {
      const res = await ctx.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: DEMO_PASSWORD } });
      assert.equal(res.statusCode, 200, `${email}: ${res.body}`);
      assert.equal(res.json().user.role, role, email);
      tokens[role] = res.json().token;
    }
    assert.equal(DEMO_PASSWORD, 'dabba-demo');
    assert.equal(DEMO_ACCOUNTS.restaurant, 'restaurant@dabba.test');

    const { rows: owned } = await ctx.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM restaurants r JOIN users u ON u.id = r.owner_id WHERE u.email = 'restaurant@dabba.test'`,
    );
    assert.ok(owned[0]!.n >= 1, 'restaurant@dabba.test owns no restaurant');
    const { rows: courierRow } = await ctx.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM couriers c JOIN users u ON u.id = c.user_id WHERE u.email = 'courier@dabba.test'`,
    );
    assert.equal(courierRow[0]!.n, 1, 'courier@dabba.test has no courier row');

    // Seeding again finds the city there and adds nothing.
    const before = await databaseDigest(ctx.sql);
    const beforeCounts = await counts(ctx);
    assert.equal(await seedDemoCity(ctx.db), false);
    assert.equal(await databaseDigest(ctx.sql), before);
    assert.deepEqual(await counts(ctx), beforeCounts);
  });

  it('when two processes seed an empty database at once, exactly one seeds and nothing is duplicated', async () => {
    const ctx = await setup({ background: false });
    // A second, independent pool on the same database stands in for a second node starting up.
    const other = createDatabase({ url: ctx.url, max: 2 });
    // Writes to users wait behind this lock until both seeds are blocked inside their transactions, so
    // the two really overlap instead of the first finishing while the second is still connecting.
    const gate = await ctx.sql.connect();
    try {
      await gate.query('BEGIN');
      await gate.query('LOCK TABLE users IN SHARE MODE');
      const seeding = Promise.all([seedDemoCity(ctx.db), seedDemoCity(other.db)]);
      let blocked = 0;
      for (const deadline = Date.now() + 10_000; blocked < 2 && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const { rows } = await ctx.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks
           WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND (locktype = 'advisory' OR relation = 'users'::regclass)`,
        );
        blocked = rows[0]!.n;
      }
      await gate.query('COMMIT');
      const results = await seeding;
      assert.ok(blocked >= 2, 'the two seeds never ran at the same time');
      assert.deepEqual([...results].sort(), [false, true]);
    } finally {
      gate.release();
      await other.db.destroy();
    }
    const { rows } = await ctx.sql.query<{ dup_emails: number; dup_restaurants: number }>(
      `SELECT (SELECT count(*)::int FROM (SELECT lower(email) FROM users GROUP BY 1 HAVING count(*) > 1) d) AS dup_emails,
              (SELECT count(*)::int FROM (SELECT name FROM restaurants GROUP BY 1 HAVING count(*) > 1) d) AS dup_restaurants`,
    );
    assert.deepEqual(rows[0], { dup_emails: 0, dup_restaurants: 0 });

    // The result is the same city a single seed makes.
    const single = await setup({ background: false });
    assert.equal(await seedDemoCity(single.db), true);
    const [raced, alone] = [await counts(ctx), await counts(single)];
    assert.deepEqual(raced, alone);
  });
});
