import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { type Actor, type TestContext, type TestRestaurant, createRestaurant, createUser, orderBody, placeOrder, setup } from './helper.ts';

const ctx = await setup();

let queries: string[] = [];
// No job workers or sweeper here: their queries would land in the counts at random moments.
const counted = await setup({ background: false, onQuery: (_ms, sql) => void queries.push(sql) });

type Order = { id: string; items: { line: number; menu_item_id: string; quantity: number }[] };
type Page = { items: Order[]; next_cursor: string | null };

async function place(c: TestContext, customer: Actor, restaurant: TestRestaurant, lines: number) {
  const items = restaurant.items.slice(0, lines).map((i, n) => ({ menu_item_id: i.id, quantity: n + 1 }));
  const res = await c.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...customer.auth, 'idempotency-key': randomUUID() },
    payload: orderBody(restaurant, { items }),
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json() as Order;
}

async function list(c: TestContext, who: Actor, query: string) {
  const res = await c.app.inject({ url: `/v1/orders?${query}`, headers: who.auth });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Page;
}

describe('reading orders', () => {
  it('GET /v1/orders/:id returns the order with its items numbered by line in the order they were placed', async () => {
    const customer = await createUser(ctx, 'customer');
    const restaurant = await createRestaurant(ctx, await createUser(ctx, 'restaurant'), { items: 4 });
    const reversed = [...restaurant.items].reverse();
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...customer.auth, 'idempotency-key': randomUUID() },
      payload: orderBody(restaurant, { items: reversed.map((i, n) => ({ menu_item_id: i.id, quantity: n + 1 })) }),
    });
    assert.equal(res.statusCode, 201, res.body);
    const got = await ctx.app.inject({ url: `/v1/orders/${res.json().id}`, headers: customer.auth });
    assert.equal(got.statusCode, 200, got.body);
    const order = got.json();
    assert.equal(order.id, res.json().id);
    assert.deepEqual(
      order.items.map((i: { line: number; menu_item_id: string; quantity: number; name: string; unit_price_cents: number }) => [
        i.line,
        i.menu_item_id,
        i.quantity,
        i.name,
        i.unit_price_cents,
      ]),
      reversed.map((item, n) => [n + 1, item.id, n + 1, item.name, item.price_cents]),
    );
  });

  it('another customer reading the order gets 404, and an unknown id is 404 too', async () => {
    const customer = await createUser(ctx, 'customer');
    const stranger = await createUser(ctx, 'customer');
    const restaurant = await createRestaurant(ctx, await createUser(ctx, 'restaurant'));
    const order = await placeOrder(ctx, customer, restaurant);
    for (const url of [`/v1/orders/${order.id}`, `/v1/orders/${randomUUID()}`]) {
      const res = await ctx.app.inject({ url, headers: url.includes(order.id) ? stranger.auth : customer.auth });
      assert.equal(res.statusCode, 404, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    }
  });

  it('GET /v1/orders lists newest first in pages of 3, 3, 1 with nothing repeated or missing and a null cursor at the end', async () => {
    const customer = await createUser(ctx, 'customer');
    const restaurant = await createRestaurant(ctx, await createUser(ctx, 'restaurant'));
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await placeOrder(ctx, customer, restaurant)).id);
    // Someone else's order must not show up in this customer's pages.
    await placeOrder(ctx, await createUser(ctx, 'customer'), restaurant);

    const pages: Page[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await list(ctx, customer, `limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(page);
      cursor = page.next_cursor;
      assert.ok(pages.length <= 4, 'pagination does not end');
    } while (cursor !== null);

    assert.deepEqual(pages.map((p) => p.items.length), [3, 3, 1]);
    assert.equal(pages.at(-1)!.next_cursor, null);
    const seen = pages.flatMap((p) => p.items.map((o) => o.id));
    assert.deepEqual(seen, [...created].reverse());
    const all = await list(ctx, customer, 'limit=100');
    assert.deepEqual(all.items.map((o) => o.id), seen);
    assert.equal(all.next_cursor, null);
  });

  it('a cursor the server did not issue is a 400, not a 500', async () => {
    const customer = await createUser(ctx, 'customer');
    const forged = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const cursor of ['bm90LWEtY3Vyc29y', forged(['x', 'y']), forged([new Date().toISOString(), 'not-a-uuid']), forged([1, 2])]) {
      const res = await ctx.app.inject({ url: `/v1/orders?cursor=${cursor}`, headers: customer.auth });
      assert.equal(res.statusCode, 400, `${cursor}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    }
  });
});

describe('query counts', () => {
  it('GET /v1/orders/:id for an order with 5 lines is exactly one query', async () => {
    const customer = await createUser(counted, 'customer');
    const restaurant = await createRestaurant(counted, await createUser(counted, 'restaurant'), { items: 5 });
    const order = await place(counted, customer, restaurant, 5);
    queries = [];
    const res = await counted.app.inject({ url: `/v1/orders/${order.id}`, headers: customer.auth });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().items.length, 5);
    assert.equal(queries.length, 1, queries.join('\n---\n'));
  });

  it('listing 10 orders of several lines each costs the same number of queries as listing 1', async () => {
    const owner = await createUser(counted, 'restaurant');
    const restaurant = await createRestaurant(counted, owner, { items: 4 });
    const one = await createUser(counted, 'customer');
    const ten = await createUser(counted, 'customer');
    await place(counted, one, restaurant, 3);
    for (let i = 0; i < 10; i++) await place(counted, ten, restaurant, 2 + (i % 3));

    const cost = async (who: Actor, expected: number) => {
      // A first request from an account also reads its token version (then cached): not the listing's cost.
      await counted.app.inject({ url: '/v1/auth/me', headers: who.auth });
      queries = [];
      const page = await list(counted, who, 'limit=20');
      assert.equal(page.items.length, expected);
      assert.ok(page.items.every((o) => o.items.length >= 2));
      return queries.length;
    };
    const forOne = await cost(one, 1);
    const forTen = await cost(ten, 10);
    assert.equal(forTen, forOne, `1 order: ${forOne} queries, 10 orders: ${forTen} queries`);
    assert.ok(forOne <= 2, `listing took ${forOne} queries`);
    // The restaurant sees all 11 orders of its restaurant through the same constant cost.
    assert.equal(await cost(owner, 11), forOne);
  });
});
