import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Point, offset } from '../src/domain/geo.ts';
import { createRestaurant, createUser, orderBody, setup } from './helper.ts';

/** No job workers: only the pages and the inserts touch the tables. */
const ctx = await setup({ background: false });

type Page<T> = { items: T[]; next_cursor: string | null };

async function get<T>(url: string, headers: Record<string, string> = {}) {
  const res = await ctx.app.inject({ url, headers });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Page<T>;
}

/** Reads every page, running `between` after each one, the way rows arrive while a client scrolls. */
async function scroll<T extends { id: string }>(first: string, headers: Record<string, string>, between: () => Promise<void>) {
  const seen: T[] = [];
  let url: string | null = first;
  for (let pages = 0; url !== null; pages++) {
    assert.ok(pages < 200, 'pagination does not end');
    const page: Page<T> = await get<T>(url, headers);
    seen.push(...page.items);
    await between();
    url = page.next_cursor ? `${first}&cursor=${page.next_cursor}` : null;
  }
  return seen;
}

describe('cursor pagination under concurrent inserts', () => {
  it('GET /v1/orders returns every order that existed when it started exactly once, newest first, whatever is inserted meanwhile', async () => {
    const restaurant = await createRestaurant(ctx, await createUser(ctx, 'restaurant'));
    const body = orderBody(restaurant);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 1, max: 7 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 12 }), async (existing, limit, bursts) => {
        const customer = await createUser(ctx, 'customer');
        const insert = (n: number) =>
          ctx.sql.query(
            `INSERT INTO orders (customer_id, restaurant_id, status, currency, subtotal_cents, delivery_fee_cents, total_cents,
                                 delivery_lat, delivery_lng, delivery_address, distance_km, idempotency_key, request_hash)
             SELECT $1, $2, 'placed', 'INR', 100, 0, 100, $3, $4, 'x', 1, gen_random_uuid()::text, 'h' FROM generate_series(1, $5)`,
            [customer.id, restaurant.id, body.delivery.lat, body.delivery.lng, n],
          );
        await insert(existing);
        const { rows: before } = await ctx.sql.query<{ id: string }>('SELECT id FROM orders WHERE customer_id = $1', [customer.id]);
        let burst = 0;
        const seen = await scroll<{ id: string; created_at: string }>(`/v1/orders?limit=${limit}`, customer.auth, async () => {
          await insert(bursts[burst++ % Math.max(1, bursts.length)] ?? 0);
        });
        assert.equal(new Set(seen.map((o) => o.id)).size, seen.length, 'an order was listed twice');
        const listed = new Set(seen.map((o) => o.id));
        for (const o of before) assert.ok(listed.has(o.id), `order ${o.id} existed before the first page and was never listed`);
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]!.created_at >= seen[i]!.created_at, 'not newest first');
      }),
      { seed: 4711, numRuns: 25 },
    );
  });

  it('GET /v1/restaurants returns every restaurant in range exactly once, nearest first, whatever opens meanwhile', async () => {
    const owner = await createUser(ctx, 'restaurant');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 9.5, noNaN: true }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.double({ min: 0, max: 9.5, noNaN: true }), { maxLength: 10 }),
        fc.integer({ min: 0, max: 10_000 }),
        async (distances, limit, arriving, spot) => {
          // Each run searches its own empty spot on the map (~50 km apart), so runs do not see each other's restaurants.
          const center: Point = { lat: -40 + (spot % 100) * 0.5, lng: -170 + Math.floor(spot / 100) * 0.5 };
          const open = async (km: number) => (await createRestaurant(ctx, owner, { at: offset(center, (km * 97) % 360, km), items: 1 })).id;
          const before = await Promise.all(distances.map(open));
          let next = 0;
          const seen = await scroll<{ id: string; distance_km: number }>(
            `/v1/restaurants?lat=${center.lat}&lng=${center.lng}&radius_km=10&limit=${limit}`,
            {},
            async () => {
              if (next < arriving.length) await open(arriving[next++]!);
            },
          );
          assert.equal(new Set(seen.map((r) => r.id)).size, seen.length, 'a restaurant was listed twice');
          const listed = new Set(seen.map((r) => r.id));
          for (const id of before) assert.ok(listed.has(id), `restaurant ${id} was in range before the first page and never listed`);
          for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]!.distance_km <= seen[i]!.distance_km, 'not nearest first');
        },
      ),
      { seed: 4712, numRuns: 20 },
    );
  });
});

