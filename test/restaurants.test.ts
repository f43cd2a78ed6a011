import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { type Point, distanceKm, offset } from '../src/domain/geo.ts';
import { type Actor, type TestRestaurant, createRestaurant, createUser, databaseDigest, orderBody, placeOrder, setup } from './helper.ts';

const ctx = await setup();

type Nearby = { id: string; name: string; distance_km: number; lat: number; lng: number };
type Page = { items: Nearby[]; next_cursor: string | null };

// Each search happens in its own city, far from the others and from the rest of this file's restaurants.
const DELHI = { lat: 28.6139, lng: 77.209 };
const BENGALURU = { lat: 12.9716, lng: 77.5946 };
const KOLKATA = { lat: 22.5726, lng: 88.3639 };

async function nearby(center: Point, query: string) {
  const res = await ctx.app.inject({ url: `/v1/restaurants?lat=${center.lat}&lng=${center.lng}&${query}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Page;
}

async function allPages(center: Point, query: string) {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    pages.push(await nearby(center, `${query}${cursor ? `&cursor=${cursor}` : ''}`));
    cursor = pages.at(-1)!.next_cursor;
    assert.ok(pages.length <= 20, 'pagination does not end');
  } while (cursor !== null);
  return pages;
}

function patch(who: Actor, url: string, payload: object) {
  return ctx.app.inject({ method: 'PATCH', url, headers: who.auth, payload });
}

async function menuOf(id: string) {
  const res = await ctx.app.inject({ url: `/v1/restaurants/${id}/menu` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { is_open: boolean; items: { id: string; name: string; price_cents: number; is_available: boolean }[] };
}

describe('finding restaurants', () => {
  it('lists restaurants within radius_km nearest first, and pages of 2 add up to the whole list with no repeats', async () => {
    const owner = await createUser(ctx, 'restaurant');
    const distances = [4.6, 0.4, 2.2, 3.9, 1.1, 2.9, 4.95];
    const inside = new Map<string, number>();
    for (const [i, km] of distances.entries()) {
      const r = await createRestaurant(ctx, owner, { at: offset(DELHI, i * 51, km), name: `Delhi ${km} km` });
      inside.set(r.id, km);
    }
    const beyond: string[] = [];
    for (const km of [5.1, 7, 20]) beyond.push((await createRestaurant(ctx, owner, { at: offset(DELHI, 200, km) })).id);

    const full = await nearby(DELHI, 'radius_km=5&limit=100');
    assert.equal(full.next_cursor, null);
    assert.deepEqual(
      full.items.map((r) => r.id),
      [...inside.entries()].sort((a, b) => a[1] - b[1]).map(([id]) => id),
    );
    for (const r of full.items) {
      assert.ok(Math.abs(r.distance_km - distanceKm(DELHI, r)) < 1e-6, `${r.name}: ${r.distance_km}`);
    }
    assert.ok(full.items.every((r, i) => i === 0 || full.items[i - 1]!.distance_km <= r.distance_km));
    assert.ok(!full.items.some((r) => beyond.includes(r.id)));

    const pages = await allPages(DELHI, 'radius_km=5&limit=2');
    assert.deepEqual(pages.map((p) => p.items.length), [2, 2, 2, 1]);
    assert.deepEqual(pages.flatMap((p) => p.items.map((r) => r.id)), full.items.map((r) => r.id));

    const wider = await nearby(DELHI, 'radius_km=8&limit=100');
    assert.deepEqual(wider.items.map((r) => r.id).slice(-2), beyond.slice(0, 2));
  });

  it('restaurants at the identical point are paged in a stable order, never repeated or skipped', async () => {
    const owner = await createUser(ctx, 'restaurant');
    const spot = offset(BENGALURU, 10, 1.5);
    const nearest = await createRestaurant(ctx, owner, { at: offset(BENGALURU, 0, 0.3) });
    const twins: string[] = [];
    for (let i = 0; i < 4; i++) twins.push((await createRestaurant(ctx, owner, { at: spot, name: `Twin ${i}` })).id);
    const farther = await createRestaurant(ctx, owner, { at: offset(BENGALURU, 0, 3) });

    const expected = [nearest.id, ...[...twins].sort(), farther.id];
    for (const limit of [1, 2, 3]) {
      const pages = await allPages(BENGALURU, `radius_km=5&limit=${limit}`);
      const ids = pages.flatMap((p) => p.items.map((r) => r.id));
      assert.equal(new Set(ids).size, ids.length, `limit=${limit} repeated a restaurant`);
      assert.deepEqual(ids, expected, `limit=${limit}`);
    }
    const twice = [await nearby(BENGALURU, 'radius_km=5'), await nearby(BENGALURU, 'radius_km=5')];
    assert.deepEqual(twice[0], twice[1]);
  });

  it('a restaurant cursor the server did not issue is a 400, not a 500', async () => {
    const forged = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const cursor of ['bm9wZQ', forged([1, 'not-a-uuid']), forged(['1', randomUUID()])]) {
      const res = await ctx.app.inject({ url: `/v1/restaurants?lat=${KOLKATA.lat}&lng=${KOLKATA.lng}&cursor=${cursor}` });
      assert.equal(res.statusCode, 400, `${cursor}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    }
  });

  it('GET /v1/restaurants/:id returns the restaurant; an unknown id is a 404 problem', async () => {
    const owner = await createUser(ctx, 'restaurant');
    const r = await createRestaurant(ctx, owner, { name: 'Kolkata Kathi Rolls', at: KOLKATA });
    const res = await ctx.app.inject({ url: `/v1/restaurants/${r.id}` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().name, 'Kolkata Kathi Rolls');
    assert.equal(res.json().is_open, true);
    for (const url of [`/v1/restaurants/${randomUUID()}`, `/v1/restaurants/${randomUUID()}/menu`]) {
      const missing = await ctx.app.inject({ url });
      assert.equal(missing.statusCode, 404, missing.body);
      assert.match(String(missing.headers['content-type']), /^application\/problem\+json/);
      assert.equal(missing.json().status, 404);
    }
  });

  it('GET /v1/restaurants/:id/menu lists items by position with their prices', async () => {
    const owner = await createUser(ctx, 'restaurant');
    const r = await createRestaurant(ctx, owner, { items: 0 });
    for (const [name, price, position] of [['Kheer', 9_000, 2], ['Samosa', 3_000, 0], ['Thali', 25_000, 1]] as const) {
      await ctx.sql.query(
        `INSERT INTO menu_items (restaurant_id, name, category, price_cents, position) VALUES ($1, $2, 'Mains', $3, $4)`,
        [r.id, name, price, position],
      );
    }
    const menu = await menuOf(r.id);
    assert.deepEqual(
      menu.items.map((i) => [i.name, i.price_cents, i.is_available]),
      [['Samosa', 3_000, true], ['Thali', 25_000, true], ['Kheer', 9_000, true]],
    );
  });
});

describe('owners editing restaurants', () => {
  async function kitchen(): Promise<{ owner: Actor; customer: Actor; r: TestRestaurant }> {
    const owner = await createUser(ctx, 'restaurant');
    return { owner, customer: await createUser(ctx, 'customer'), r: await createRestaurant(ctx, owner) };
  }

  it('when the owner closes the restaurant, it reads as closed and new orders are refused with 422', async () => {
    const { owner, customer, r } = await kitchen();
    const res = await patch(owner, `/v1/restaurants/${r.id}`, { is_open: false });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().is_open, false);
    assert.equal((await ctx.app.inject({ url: `/v1/restaurants/${r.id}` })).json().is_open, false);
    assert.equal((await menuOf(r.id)).is_open, false);
    const order = await ctx.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...customer.auth, 'idempotency-key': randomUUID() },
      payload: orderBody(r),
    });
    assert.equal(order.statusCode, 422, order.body);
    assert.ok(order.json().errors.some((e: { field: string }) => e.field === 'body/restaurant_id'));

    assert.equal((await patch(owner, `/v1/restaurants/${r.id}`, { is_open: true })).statusCode, 200);
    await placeOrder(ctx, customer, r);
  });

  it('a price the owner changes shows in the menu and prices the next order', async () => {
    const { owner, customer, r } = await kitchen();
    const item = r.items[0]!;
    const res = await patch(owner, `/v1/restaurants/${r.id}/menu/${item.id}`, { price_cents: 33_300 });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().price_cents, 33_300);
    assert.equal((await menuOf(r.id)).items.find((i) => i.id === item.id)!.price_cents, 33_300);
    const order = await placeOrder(ctx, customer, r);
    const { rows } = await ctx.sql.query('SELECT unit_price_cents, quantity, line_total_cents FROM order_items WHERE order_id = $1', [order.id]);
    assert.deepEqual(rows, [{ unit_price_cents: 33_300, quantity: 2, line_total_cents: 66_600 }]);
  });

  it('an item the owner marks unavailable shows so in the menu and can no longer be ordered', async () => {
    const { owner, customer, r } = await kitchen();
    const item = r.items[0]!;
    const res = await patch(owner, `/v1/restaurants/${r.id}/menu/${item.id}`, { is_available: false });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await menuOf(r.id)).items.find((i) => i.id === item.id)!.is_available, false);
    const order = await ctx.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...customer.auth, 'idempotency-key': randomUUID() },
      payload: orderBody(r),
    });
    assert.equal(order.statusCode, 422, order.body);
  });

  it('an admin may close a restaurant and change its prices', async () => {
    const { r } = await kitchen();
    const admin = await createUser(ctx, 'admin');
    assert.equal((await patch(admin, `/v1/restaurants/${r.id}`, { is_open: false })).json().is_open, false);
    const res = await patch(admin, `/v1/restaurants/${r.id}/menu/${r.items[1]!.id}`, { price_cents: 12_345, is_available: false });
    assert.equal(res.statusCode, 200, res.body);
    const { rows } = await ctx.sql.query('SELECT price_cents, is_available FROM menu_items WHERE id = $1', [r.items[1]!.id]);
    assert.deepEqual(rows, [{ price_cents: 12_345, is_available: false }]);
  });

  it('another restaurant account gets 404 for someone else’s restaurant and menu, and nothing changes', async () => {
    const { r } = await kitchen();
    const rival = await createUser(ctx, 'restaurant');
    await createRestaurant(ctx, rival);
    const before = await databaseDigest(ctx.sql);
    for (const [url, body] of [
      [`/v1/restaurants/${r.id}`, { is_open: false }],
      [`/v1/restaurants/${r.id}/menu/${r.items[0]!.id}`, { price_cents: 1 }],
      [`/v1/restaurants/${r.id}/menu/${r.items[0]!.id}`, { is_available: false }],
    ] as const) {
      const res = await patch(rival, url, body);
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    }
    assert.equal(await databaseDigest(ctx.sql), before);
  });

  it('a menu item of another restaurant cannot be edited through one’s own restaurant: 404, nothing changes', async () => {
    const { owner, r } = await kitchen();
    const other = await createRestaurant(ctx, await createUser(ctx, 'restaurant'));
    const before = await databaseDigest(ctx.sql);
    const res = await patch(owner, `/v1/restaurants/${r.id}/menu/${other.items[0]!.id}`, { price_cents: 1 });
    assert.equal(res.statusCode, 404, res.body);
    assert.equal(await databaseDigest(ctx.sql), before);
  });

  it('customers and couriers are refused with 403, and a missing token with 401', async () => {
    const { r } = await kitchen();
    const outsiders = [await createUser(ctx, 'customer'), await createUser(ctx, 'courier')];
    const before = await databaseDigest(ctx.sql);
    for (const who of outsiders) {
      for (const [url, body] of [
        [`/v1/restaurants/${r.id}`, { is_open: false }],
        [`/v1/restaurants/${r.id}/menu/${r.items[0]!.id}`, { price_cents: 1 }],
      ] as const) {
        const res = await patch(who, url, body);
        assert.equal(res.statusCode, 403, `${who.role} ${url}: ${res.body}`);
      }
    }
    const anonymous = await ctx.app.inject({ method: 'PATCH', url: `/v1/restaurants/${r.id}`, payload: { is_open: false } });
    assert.equal(anonymous.statusCode, 401, anonymous.body);
    assert.equal(await databaseDigest(ctx.sql), before);
  });

  it('a menu patch with nothing to change (`{}`, or only unknown fields) or a zero price is a 400 and changes nothing', async () => {
    const { owner, r } = await kitchen();
    const before = await databaseDigest(ctx.sql);
    for (const body of [{}, { price_cents: 0 }, { name: 'renamed' }]) {
      const res = await patch(owner, `/v1/restaurants/${r.id}/menu/${r.items[0]!.id}`, body);
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    }
    assert.equal(await databaseDigest(ctx.sql), before);
  });
});
