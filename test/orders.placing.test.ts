import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { distanceKm, offset } from '../src/domain/geo.ts';
import { deliveryFeeCents } from '../src/domain/pricing.ts';
import {
  type Actor,
  CENTER,
  type TestRestaurant,
  createRestaurant,
  createUser,
  databaseDigest,
  orderBody,
  setup,
} from './helper.ts';

const ctx = await setup();

type Problem = { status: number; current_status?: string; errors?: { field: string; message: string }[] };

function post(customer: Actor, payload: object | string, key: string = randomUUID()) {
  return ctx.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...customer.auth, 'idempotency-key': key, 'content-type': 'application/json' },
    payload,
  });
}

async function ordersOf(customer: Actor) {
  const { rows } = await ctx.sql.query<{ id: string }>('SELECT id FROM orders WHERE customer_id = $1', [customer.id]);
  return rows.map((r) => r.id);
}

/** Sends an order that must be refused with `status`, naming `field`, and must leave every table as it was. */
async function expectRefused(customer: Actor, payload: object, status: number, field: string) {
  const before = await databaseDigest(ctx.sql);
  const res = await post(customer, payload);
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const problem = res.json() as Problem;
  assert.equal(problem.status, status);
  assert.ok(problem.errors?.some((e) => e.field === field), `expected an error on ${field}, got ${JSON.stringify(problem.errors)}`);
  assert.equal(await databaseDigest(ctx.sql), before, 'a refused order changed the database');
}

/**
 * Runs `requests` while another transaction holds a SHARE lock on orders: reads go through, every INSERT
 * waits. Once the inserts are queued up the lock is released, so they really collide on the unique index
 * instead of the first request finishing before the others have started.
 */
async function withInsertsHeldBack<T>(requests: () => Promise<T>[], expected: number) {
  const locker = await ctx.sql.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE orders IN SHARE MODE');
    const pending = Promise.all(requests());
    let waiting = 0;
    for (const deadline = Date.now() + 5_000; waiting < expected && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const { rows } = await ctx.sql.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks
         WHERE NOT granted AND relation = 'orders'::regclass AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
      waiting = rows[0]!.n;
    }
    await locker.query('COMMIT');
    return { results: await pending, waiting };
  } finally {
    locker.release();
  }
}

/**
 * Large orders pass the payment simulator's decline limit; a declined order is compensated by a
 * background job that writes to it, which would race the database digests of later tests.
 */
async function cheapen(restaurant: TestRestaurant) {
  await ctx.sql.query('UPDATE menu_items SET price_cents = 1000 WHERE restaurant_id = $1', [restaurant.id]);
}

async function actors() {
  const customer = await createUser(ctx, 'customer');
  const owner = await createUser(ctx, 'restaurant');
  return { customer, owner };
}

describe('placing an order', () => {
  it('prices every line from menu_items, ignores prices sent by the client, and stores order, lines and first event', async () => {
    const { customer, owner } = await actors();
    const at = offset(CENTER, 200, 2);
    const restaurant = await createRestaurant(ctx, owner, { at });
    const [a, b, c] = restaurant.items as [TestRestaurant['items'][number], TestRestaurant['items'][number], TestRestaurant['items'][number]];
    const delivery = { ...offset(at, 30, 3.3), address: '7 Carter Road, Bandra' };
    const res = await post(customer, {
      restaurant_id: restaurant.id,
      items: [
        { menu_item_id: a.id, quantity: 2, price_cents: 1, unit_price_cents: 1 },
        { menu_item_id: c.id, quantity: 3, price_cents: 1 },
        { menu_item_id: b.id, quantity: 1, unit_price_cents: 0 },
      ],
      delivery,
      total_cents: 100,
      subtotal_cents: 100,
      delivery_fee_cents: 0,
      status: 'delivered',
    });
    assert.equal(res.statusCode, 201, res.body);
    const order = res.json();

    const { rows: prices } = await ctx.sql.query<{ id: string; price_cents: number }>(
      'SELECT id, price_cents FROM menu_items WHERE restaurant_id = $1',
      [restaurant.id],
    );
    const price = new Map(prices.map((p) => [p.id, p.price_cents]));
    const expectedLines = [
      { line: 1, menu_item_id: a.id, quantity: 2 },
      { line: 2, menu_item_id: c.id, quantity: 3 },
      { line: 3, menu_item_id: b.id, quantity: 1 },
    ].map((l) => ({ ...l, unit_price_cents: price.get(l.menu_item_id)!, line_total_cents: price.get(l.menu_item_id)! * l.quantity }));
    const subtotal = expectedLines.reduce((sum, l) => sum + l.line_total_cents, 0);
    const fee = deliveryFeeCents(distanceKm(at, delivery));

    assert.equal(order.status, 'placed');
    assert.equal(order.version, 1);
    assert.equal(order.customer_id, customer.id);
    assert.equal(order.currency, 'INR');
    assert.equal(order.subtotal_cents, subtotal);
    assert.equal(order.delivery_fee_cents, fee);
    assert.equal(order.total_cents, subtotal + fee);
    assert.ok(Math.abs(order.distance_km - distanceKm(at, delivery)) < 0.001);
    assert.deepEqual(
      order.items.map((i: Record<string, unknown>) => ({ ...i, name: undefined })),
      expectedLines.map((l) => ({ ...l, name: undefined })),
    );

    const { rows: stored } = await ctx.sql.query('SELECT status, subtotal_cents, delivery_fee_cents, total_cents FROM orders WHERE id = $1', [order.id]);
    assert.deepEqual(stored, [{ status: 'placed', subtotal_cents: subtotal, delivery_fee_cents: fee, total_cents: subtotal + fee }]);
    const { rows: lines } = await ctx.sql.query(
      'SELECT line, menu_item_id, unit_price_cents, quantity, line_total_cents FROM order_items WHERE order_id = $1 ORDER BY line',
      [order.id],
    );
    assert.deepEqual(lines, expectedLines);
    const { rows: events } = await ctx.sql.query('SELECT from_status, to_status, actor_id, actor_role FROM order_events WHERE order_id = $1', [order.id]);
    assert.deepEqual(events, [{ from_status: null, to_status: 'placed', actor_id: customer.id, actor_role: 'customer' }]);
  });

  it('when the restaurant is closed, the answer is 422 on restaurant_id and nothing is inserted', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner, { isOpen: false });
    await expectRefused(customer, orderBody(restaurant), 422, 'body/restaurant_id');
  });

  it('when an item is unavailable, the answer is 422 on that line and nothing is inserted', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    await ctx.sql.query('UPDATE menu_items SET is_available = false WHERE id = $1', [restaurant.items[1]!.id]);
    const items = [
      { menu_item_id: restaurant.items[0]!.id, quantity: 1 },
      { menu_item_id: restaurant.items[1]!.id, quantity: 1 },
    ];
    await expectRefused(customer, orderBody(restaurant, { items }), 422, 'body/items/1/menu_item_id');
  });

  it('when an item belongs to another restaurant, the answer is 422 on that line and nothing is inserted', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    const other = await createRestaurant(ctx, owner);
    const items = [
      { menu_item_id: restaurant.items[0]!.id, quantity: 1 },
      { menu_item_id: other.items[0]!.id, quantity: 1 },
    ];
    await expectRefused(customer, orderBody(restaurant, { items }), 422, 'body/items/1/menu_item_id');
  });

  it('when the restaurant does not exist, the answer is 422 on restaurant_id and nothing is inserted', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    await expectRefused(customer, orderBody(restaurant, { restaurant_id: randomUUID() }), 422, 'body/restaurant_id');
  });

  it('when the delivery point is beyond delivery_radius_km, the answer is 422 on delivery; just inside is accepted', async () => {
    const { customer, owner } = await actors();
    const at = offset(CENTER, 300, 2);
    const restaurant = await createRestaurant(ctx, owner, { at, radiusKm: 2 });
    const outside = { ...offset(at, 120, 2.1), address: 'Too far' };
    await expectRefused(customer, orderBody(restaurant, { delivery: outside }), 422, 'body/delivery');
    const inside = { ...offset(at, 120, 1.9), address: 'Near enough' };
    const res = await post(customer, orderBody(restaurant, { delivery: inside }));
    assert.equal(res.statusCode, 201, res.body);
  });

  it('when one menu item is listed twice, the answer is 422 on the repeated line and nothing is inserted', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    const id = restaurant.items[0]!.id;
    const items = [
      { menu_item_id: id, quantity: 1 },
      { menu_item_id: restaurant.items[1]!.id, quantity: 1 },
      { menu_item_id: id, quantity: 2 },
    ];
    await expectRefused(customer, orderBody(restaurant, { items }), 422, 'body/items/2/menu_item_id');
  });

  it('accepts quantities 1 and 50 but answers 400 for 0 and 51, inserting nothing', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    await cheapen(restaurant);
    const line = (quantity: number) => ({ items: [{ menu_item_id: restaurant.items[0]!.id, quantity }] });
    await expectRefused(customer, orderBody(restaurant, line(0)), 400, 'body/items/0/quantity');
    await expectRefused(customer, orderBody(restaurant, line(51)), 400, 'body/items/0/quantity');
    for (const q of [1, 50]) {
      const res = await post(customer, orderBody(restaurant, line(q)));
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().status, 'placed');
      assert.equal(res.json().items[0].quantity, q);
    }
  });

  it('accepts 30 lines but answers 400 for 31 lines and for none, inserting nothing', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner, { items: 31 });
    await cheapen(restaurant);
    const lines = (n: number) => ({ items: restaurant.items.slice(0, n).map((i) => ({ menu_item_id: i.id, quantity: 1 })) });
    await expectRefused(customer, orderBody(restaurant, lines(31)), 400, 'body/items');
    await expectRefused(customer, orderBody(restaurant, lines(0)), 400, 'body/items');
    const res = await post(customer, orderBody(restaurant, lines(30)));
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().items.length, 30);
    assert.equal(res.json().status, 'placed');
  });
});

describe('idempotent placing', () => {
  it('when the same Idempotency-Key arrives with the same body, the answer is 200, replayed, with the same order and no second row', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    const key = randomUUID();
    const first = await post(customer, orderBody(restaurant), key);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    const again = await post(customer, orderBody(restaurant), key);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().id, first.json().id);
    assert.deepEqual(again.json(), first.json());
    assert.deepEqual(await ordersOf(customer), [first.json().id]);
  });

  it('when the same body is sent again with its JSON keys in another order, it counts as the same body', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    const key = randomUUID();
    const item = restaurant.items[0]!.id;
    const d = offset(CENTER, 90, 1);
    const first = await post(
      customer,
      `{"restaurant_id":"${restaurant.id}","items":[{"menu_item_id":"${item}","quantity":2}],"delivery":{"lat":${d.lat},"lng":${d.lng},"address":"12 Marine Drive"},"notes":"ring twice"}`,
      key,
    );
    assert.equal(first.statusCode, 201, first.body);
    const reordered = await post(
      customer,
      `{"notes":"ring twice","delivery":{"address":"12 Marine Drive","lng":${d.lng},"lat":${d.lat}},"items":[{"quantity":2,"menu_item_id":"${item}"}],"restaurant_id":"${restaurant.id}"}`,
      key,
    );
    assert.equal(reordered.statusCode, 200, reordered.body);
    assert.equal(reordered.json().id, first.json().id);
    assert.deepEqual(await ordersOf(customer), [first.json().id]);
  });

  it('when the same Idempotency-Key arrives with another body, the answer is 422 and no order is created', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    const key = randomUUID();
    const first = await post(customer, orderBody(restaurant), key);
    assert.equal(first.statusCode, 201, first.body);
    const before = await databaseDigest(ctx.sql);
    const other = orderBody(restaurant, { items: [{ menu_item_id: restaurant.items[0]!.id, quantity: 3 }] });
    const res = await post(customer, other, key);
    assert.equal(res.statusCode, 422, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.ok((res.json() as Problem).errors?.some((e) => e.field === 'headers/idempotency-key'), res.body);
    assert.equal(await databaseDigest(ctx.sql), before);
    assert.deepEqual(await ordersOf(customer), [first.json().id]);
  });

  it('when the restaurant closes after the order, a retry with the same key still returns the original order', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    const key = randomUUID();
    const first = await post(customer, orderBody(restaurant), key);
    assert.equal(first.statusCode, 201, first.body);
    await ctx.sql.query('UPDATE restaurants SET is_open = false WHERE id = $1', [restaurant.id]);
    const retry = await post(customer, orderBody(restaurant), key);
    assert.equal(retry.statusCode, 200, retry.body);
    assert.equal(retry.json().id, first.json().id);
  });

  it('when two customers use the same Idempotency-Key, each gets a separate order', async () => {
    const { customer, owner } = await actors();
    const other = await createUser(ctx, 'customer');
    const restaurant = await createRestaurant(ctx, owner);
    const key = randomUUID();
    const mine = await post(customer, orderBody(restaurant), key);
    const theirs = await post(other, orderBody(restaurant), key);
    assert.equal(mine.statusCode, 201, mine.body);
    assert.equal(theirs.statusCode, 201, theirs.body);
    assert.notEqual(mine.json().id, theirs.json().id);
    assert.equal(theirs.json().customer_id, other.id);
    assert.deepEqual(await ordersOf(customer), [mine.json().id]);
    assert.deepEqual(await ordersOf(other), [theirs.json().id]);
  });

  it('when 20 identical requests with one key arrive at once, exactly one order exists and every answer carries its id', async () => {
    const { customer, owner } = await actors();
    const restaurant = await createRestaurant(ctx, owner);
    const key = randomUUID();
    // At most the app's pool (DATABASE_POOL_MAX 8 in tests) can be waiting at the lock; the rest wait
    // for a connection, and must not wait past DATABASE_POOL_WAIT_MS for the lock to be released.
    const { results: responses, waiting } = await withInsertsHeldBack(
      () => Array.from({ length: 20 }, () => post(customer, orderBody(restaurant), key)),
      8,
    );
    assert.ok(waiting >= 2, `only ${waiting} inserts overlapped`);
    const ids = await ordersOf(customer);
    assert.equal(ids.length, 1);
    for (const res of responses) {
      assert.ok(res.statusCode === 201 || res.statusCode === 200, `${res.statusCode} ${res.body}`);
      assert.equal(res.json().id, ids[0]);
    }
    assert.equal(responses.filter((r) => r.statusCode === 201).length, 1);
    const { rows } = await ctx.sql.query('SELECT count(*)::int AS n FROM order_events WHERE order_id = $1', [ids[0]]);
    assert.equal(rows[0].n, 1);
  });
});
