/**
 * What the feed shows can be ordered at the price shown: highlights carry dabba's menu ids and synced
 * prices, the prices checkout charges. Checkout looks at the live catalog (briefly, never blocking on
 * it) so a dish the catalog has just taken off is refused up front, and a customer who says what
 * price they were shown is never charged another one.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { type Point, offset } from '../src/domain/geo.ts';
import { type Actor, CENTER, type TestRestaurant, createRestaurant, createUser, databaseDigest, orderBody, setup } from './helper.ts';

// Jobs are not worked here: a sync happens when a test says so, never behind its back.
const ctx = await setup({ background: false });

type Highlight = { id: string; name: string; price_cents: number };
type Line = { menu_item_id: string; quantity: number; expected_unit_price_cents?: number };
interface Problem {
  type: string;
  status: number;
  errors?: { field: string; message: string }[];
  changes?: { field: string; menu_item_id: string; shown_cents: number; now_cents: number }[];
}

/** Every test works in its own neighbourhood, far outside the feed's search radius of the others. */
let neighbourhoods = 0;
function neighbourhood(): Point {
  neighbourhoods++;
  return offset(CENTER, (neighbourhoods * 97) % 360, 60 * neighbourhoods);
}

async function kitchenAt(here: Point) {
  const owner = await createUser(ctx, 'restaurant');
  return createRestaurant(ctx, owner, { at: offset(here, 90, 1) });
}

/** The restaurant's own dishes in the catalog at fixed prices (catalog id = dabba id). */
const setCatalog = (r: TestRestaurant, items: { id: string; name: string; price_cents: number; available?: boolean }[]) =>
  ctx.sim.control('PUT', `/catalog/restaurants/${r.id}`, { items, drift: false });
const repriced = (r: TestRestaurant, prices: number[]) => r.items.map((item, i) => ({ id: item.id, name: item.name, price_cents: prices[i]! }));

async function highlights(here: Point, r: TestRestaurant): Promise<Highlight[]> {
  const res = await ctx.app.inject({ url: `/v1/feed?lat=${here.lat}&lng=${here.lng}` });
  assert.equal(res.statusCode, 200, res.body);
  const entry = (res.json() as { items: { restaurant: { id: string }; menu: { highlights: Highlight[] } | null }[] }).items.find(
    (e) => e.restaurant.id === r.id,
  );
  assert.ok(entry?.menu, 'the restaurant has a menu in the feed');
  return entry.menu.highlights;
}

/** An order delivered to `here`, where the feed was asked for. */
function post(here: Point, customer: Actor, r: TestRestaurant, items: Line[], key: string = randomUUID()) {
  return ctx.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...customer.auth, 'idempotency-key': key },
    payload: orderBody(r, { items, delivery: { ...here, address: '12 Marine Drive, Mumbai' } }),
  });
}

describe('ordering what the feed shows', () => {
  it('a feed highlight ordered with the price shown is placed at that price', async () => {
    const here = neighbourhood();
    const r = await kitchenAt(here);
    await setCatalog(r, repriced(r, [11_100, 12_200, 13_300]));
    await ctx.app.services.menuSync.syncRestaurant(r.id);

    const shown = await highlights(here, r);
    assert.deepEqual(shown, r.items.map((item, i) => ({ id: item.id, name: item.name, price_cents: [11_100, 12_200, 13_300][i] })));
    const customer = await createUser(ctx, 'customer');
    for (const h of shown) {
      const res = await post(here, customer, r, [{ menu_item_id: h.id, quantity: 1, expected_unit_price_cents: h.price_cents }]);
      assert.equal(res.statusCode, 201, res.body);
      const line = (res.json() as { items: { menu_item_id: string; unit_price_cents: number }[] }).items[0]!;
      assert.deepEqual([line.menu_item_id, line.unit_price_cents], [h.id, h.price_cents]);
    }
  });

  it('shows the synced price, the one checkout charges, and leaves out dishes the sync has not brought in yet', async () => {
    const here = neighbourhood();
    const r = await kitchenAt(here);
    await setCatalog(r, repriced(r, [10_000, 12_500, 15_000]));
    await ctx.app.services.menuSync.syncRestaurant(r.id);
    // The catalog moves on: a new dish first, a new price; no sync yet.
    await setCatalog(r, [{ id: 'new-dish', name: 'Kulfi', price_cents: 5_000 }, ...repriced(r, [10_900, 12_500, 15_000])]);

    const shown = await highlights(here, r);
    assert.deepEqual(shown.map((h) => [h.id, h.price_cents]), r.items.map((item, i) => [item.id, [10_000, 12_500, 15_000][i]]));
    const customer = await createUser(ctx, 'customer');
    const res = await post(here, customer, r, [{ menu_item_id: shown[0]!.id, quantity: 1, expected_unit_price_cents: shown[0]!.price_cents }]);
    assert.equal(res.statusCode, 201, res.body);
    assert.equal((res.json() as { items: { unit_price_cents: number }[] }).items[0]!.unit_price_cents, 10_000);
  });

  it('refuses a dish the live catalog marks unavailable, naming the field, and orders nothing', async () => {
    const here = neighbourhood();
    const r = await kitchenAt(here);
    const [open, gone] = r.items as [TestRestaurant['items'][0], TestRestaurant['items'][0]];
    // Never synced: dabba's copy still has every dish available; only the live catalog knows better.
    await setCatalog(r, r.items.map((item) => ({ ...item, available: item.id !== gone.id })));
    const customer = await createUser(ctx, 'customer');
    const before = await databaseDigest(ctx.sql);

    const res = await post(here, customer, r, [{ menu_item_id: open.id, quantity: 1 }, { menu_item_id: gone.id, quantity: 1 }]);
    assert.equal(res.statusCode, 422, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual((res.json() as Problem).errors, [{ field: 'body/items/1/menu_item_id', message: 'currently unavailable' }]);
    assert.equal(await databaseDigest(ctx.sql), before, 'nothing was ordered');

    const alone = await post(here, customer, r, [{ menu_item_id: open.id, quantity: 1 }]);
    assert.equal(alone.statusCode, 201, alone.body);
  });

  for (const mode of ['hang', 'down'] as const) {
    it(`with the catalog ${mode === 'hang' ? 'hanging' : 'down'}, checkout decides on the synced copy without waiting for it`, async () => {
      const here = neighbourhood();
      const r = await kitchenAt(here); // never fetched: no cached live menu to fall back on
      const customer = await createUser(ctx, 'customer');
      await ctx.sim.set('catalog', { mode });
      try {
        const started = performance.now();
        const res = await post(here, customer, r, [{ menu_item_id: r.items[0]!.id, quantity: 1, expected_unit_price_cents: r.items[0]!.price_cents }]);
        const elapsed = performance.now() - started;
        assert.equal(res.statusCode, 201, res.body);
        assert.equal((res.json() as { items: { unit_price_cents: number }[] }).items[0]!.unit_price_cents, r.items[0]!.price_cents);
        // 300 ms for the catalog, then checkout's own partner calls (a few ms each here).
        assert.ok(elapsed < 1_200, `answered in ${Math.round(elapsed)} ms`);
      } finally {
        await ctx.sim.fast();
      }
    });
  }

  it('a price shown that is no longer the price is a 409 naming both figures per line, and nothing is ordered until the customer agrees', async () => {
    const here = neighbourhood();
    const r = await kitchenAt(here);
    const [first, second] = r.items as [TestRestaurant['items'][0], TestRestaurant['items'][0]];
    await setCatalog(r, repriced(r, [10_000, 12_500, 15_000]));
    await ctx.app.services.menuSync.syncRestaurant(r.id);
    const customer = await createUser(ctx, 'customer');
    const key = randomUUID();
    const before = await databaseDigest(ctx.sql);

    const lines = [
      { menu_item_id: first.id, quantity: 2, expected_unit_price_cents: 9_500 },
      { menu_item_id: second.id, quantity: 1, expected_unit_price_cents: 12_500 },
    ];
    const res = await post(here, customer, r, lines, key);
    assert.equal(res.statusCode, 409, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const problem = res.json() as Problem;
    assert.equal(problem.type, 'https://dabba.dev/problems/price-changed');
    assert.deepEqual(problem.changes, [{ field: 'body/items/0/expected_unit_price_cents', menu_item_id: first.id, shown_cents: 9_500, now_cents: 10_000 }]);
    assert.deepEqual(problem.errors?.map((e) => e.field), ['body/items/0/expected_unit_price_cents']);
    assert.equal(await databaseDigest(ctx.sql), before, 'nothing was ordered');

    // The customer saw the new price and agrees: the same key, the body as it is now.
    const agreed = [{ ...lines[0]!, expected_unit_price_cents: 10_000 }, lines[1]!];
    const placed = await post(here, customer, r, agreed, key);
    assert.equal(placed.statusCode, 201, placed.body);
    const order = placed.json() as { subtotal_cents: number; items: { unit_price_cents: number }[] };
    assert.deepEqual([order.subtotal_cents, ...order.items.map((i) => i.unit_price_cents)], [32_500, 10_000, 12_500]);
    const replay = await post(here, customer, r, agreed, key);
    assert.equal(replay.statusCode, 200, 'the same key and body replay the order');
    assert.equal((await post(here, customer, r, lines, key)).statusCode, 422, 'the same key with the old shown price is another request');
  });
});
