import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { ChangeListener } from '../src/db/change-listener.ts';
import { createDatabase } from '../src/db/database.ts';
import { MenuRepository } from '../src/db/repositories/menu.repository.ts';
import { RestaurantRepository } from '../src/db/repositories/restaurant.repository.ts';
import { offset } from '../src/domain/geo.ts';
import { CATALOG_CHANNELS, FeedDirectory } from '../src/services/feed-directory.ts';
import { CENTER, createTestDatabase, eventually } from './helper.ts';

const log = pino({ level: 'silent' });
const { url, drop } = await createTestDatabase();
const { db } = createDatabase({ url, max: 4 });
const sql = new pg.Pool({ connectionString: url, max: 2 });
const restaurants = new RestaurantRepository(db);
const menus = new MenuRepository(db);

/** The repositories, counting the reads the directory makes of them. */
const reads = { restaurants: 0, menus: 0 };
const counted = {
  restaurants: Object.assign(Object.create(restaurants) as RestaurantRepository, {
    openRestaurants() {
      reads.restaurants++;
      return restaurants.openRestaurants();
    },
    findNearby(q: Parameters<RestaurantRepository['findNearby']>[0]) {
      reads.restaurants++;
      return restaurants.findNearby(q);
    },
  }),
  menus: Object.assign(Object.create(menus) as MenuRepository, {
    catalogIndex(ids: readonly string[]) {
      reads.menus++;
      return menus.catalogIndex(ids);
    },
  }),
};

let directory: FeedDirectory;
const listener: ChangeListener = new ChangeListener({
  url,
  channels: CATALOG_CHANNELS,
  onNotify: (channel, payload) => directory.notified(channel, payload),
  onReset: () => directory.reset(),
  log,
  retryMs: 100,
});
directory = new FeedDirectory({ ...counted, listening: () => listener.listening });

async function restaurant(at: { lat: number; lng: number }, radiusKm = 8) {
  const owner = await sql.query<{ id: string }>(
    `INSERT INTO users (email, name, role, password_hash) VALUES (gen_random_uuid() || '@dabba.test', 'Owner', 'restaurant', 'x') RETURNING id`,
  );
  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO restaurants (owner_id, name, cuisine, address, lat, lng, delivery_radius_km, prep_minutes, is_open)
     VALUES ($1, 'Kitchen', 'Street Food', '1 Test Road', $2, $3, $4, 15, true) RETURNING id`,
    [owner.rows[0]!.id, at.lat, at.lng, radiusKm],
  );
  const id = rows[0]!.id;
  await sql.query(`INSERT INTO menu_items (restaurant_id, name, category, price_cents, position) VALUES ($1, 'Dish', 'Mains', 10000, 0)`, [id]);
  return id;
}

describe('the feed directory', () => {
  const ids: string[] = [];
  before(async () => {
    await listener.start();
    // Each at its own distance from the centre: ties would be ordered by float noise, differently in SQL and here.
    for (let i = 0; i < 40; i++) ids.push(await restaurant(offset(CENTER, (i * 37) % 360, 0.3 + i * 0.23), 2 + (i % 7)));
    await listener.barrier();
  });
  after(async () => {
    await listener.close();
    await db.destroy();
    await sql.end();
    await drop();
  });

  it('finds what the database finds, in the same order, from one read of the restaurants', async () => {
    const before = reads.restaurants;
    for (let i = 0; i < 25; i++) {
      const at = i === 0 ? CENTER : offset(CENTER, (i * 53) % 360, (i % 9) * 0.7 + 0.05);
      const mine = await directory.nearby(at, 15, 10);
      const theirs = await restaurants.findNearby({ center: at, radiusKm: 15, limit: 10, openOnly: true, deliversHere: true });
      assert.deepEqual(
        mine.map((r) => r.id),
        theirs.map((r) => r.id),
      );
      for (const [j, r] of mine.entries()) assert.ok(Math.abs(r.distance_km - theirs[j]!.distance_km) < 1e-6, "distances agree to a millimetre");
      assert.deepEqual({ ...mine[0], distance_km: 0 }, { ...theirs[0], distance_km: 0 });
    }
    assert.equal(reads.restaurants - before, 1, 'the directory read the restaurants once for 25 feeds');
  });

  it('hears a restaurant closed, and a price changed, by another writer', async () => {
    const near = offset(CENTER, 0, 0.3);
    const target = (await directory.nearby(near, 15, 1))[0]!;
    await sql.query('UPDATE restaurants SET is_open = false WHERE id = $1', [target.id]);
    await listener.barrier();
    assert.ok(!(await directory.nearby(near, 15, 50)).some((r) => r.id === target.id), 'a closed restaurant is still listed');
    await sql.query('UPDATE restaurants SET is_open = true WHERE id = $1', [target.id]);
    await listener.barrier();
    assert.ok((await directory.nearby(near, 15, 50)).some((r) => r.id === target.id), 'a reopened restaurant is missing');

    const [row] = await directory.catalogIndex([target.id]);
    const menuReads = reads.menus;
    assert.equal((await directory.catalogIndex([target.id]))[0]!.price_cents, row!.price_cents);
    assert.equal(reads.menus, menuReads, 'a held menu was read again');
    await sql.query('UPDATE menu_items SET price_cents = price_cents + 500 WHERE restaurant_id = $1', [target.id]);
    await listener.barrier();
    assert.equal((await directory.catalogIndex([target.id]))[0]!.price_cents, row!.price_cents + 500);
  });

  it('keeps nothing a change overtook while it loaded', async () => {
    const slow = new FeedDirectory({
      restaurants: Object.assign(Object.create(restaurants) as RestaurantRepository, {
        openRestaurants: async () => {
          reads.restaurants++;
          const rows = await restaurants.openRestaurants();
          slow.restaurantsChanged();
          return rows;
        },
      }),
      menus,
      listening: () => true,
    });
    const before = reads.restaurants;
    await slow.nearby(CENTER, 15, 5);
    await slow.nearby(CENTER, 15, 5);
    assert.equal(reads.restaurants - before, 2, 'the overtaken load was kept');
  });

  it('reads the database while its listener is down, and holds again once it is back', async () => {
    await sql.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dabba-listen' AND datname = current_database()`);
    await eventually('the listener noticed', async () => !listener.listening);
    const before = reads.menus;
    await directory.catalogIndex([ids[0]!]);
    await directory.catalogIndex([ids[0]!]);
    assert.equal(reads.menus - before, 2, 'a menu was held while nothing listened');
    await eventually('the listener is back', async () => listener.listening, 10_000);
    const held = reads.menus;
    await directory.catalogIndex([ids[0]!]);
    await directory.catalogIndex([ids[0]!]);
    assert.equal(reads.menus - held, 1);
  });
});
