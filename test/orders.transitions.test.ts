import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Actor, createRestaurant, createUser, eventually, placeOrder, setup } from './helper.ts';

const ctx = await setup();

type Problem = { status: number; detail: string; current_status?: string };

function act(who: Actor, orderId: string, path: string, payload: object = {}) {
  return ctx.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/${path}`, headers: who.auth, payload });
}

async function ok(who: Actor, orderId: string, path: string, payload: object = {}) {
  const res = await act(who, orderId, path, payload);
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
  return res.json() as { status: string; version: number; courier_id: string | null; status_reason: string | null };
}

async function stored(orderId: string) {
  const { rows } = await ctx.sql.query<{ status: string; version: number; courier_id: string | null; events: number }>(
    `SELECT status, version, courier_id, (SELECT count(*)::int FROM order_events e WHERE e.order_id = o.id) AS events
     FROM orders o WHERE id = $1`,
    [orderId],
  );
  return rows[0]!;
}

/** A 409 problem naming the status the order is really in, with the order left exactly as it was. */
async function expectConflict(who: Actor, orderId: string, path: string, currentStatus: string, payload: object = {}, detail?: RegExp) {
  const before = await stored(orderId);
  const res = await act(who, orderId, path, payload);
  assert.equal(res.statusCode, 409, `${path}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const problem = res.json() as Problem;
  assert.equal(problem.current_status, currentStatus, res.body);
  if (detail) assert.match(problem.detail, detail);
  assert.deepEqual(await stored(orderId), before, `${path} changed the order`);
}

async function cast() {
  const customer = await createUser(ctx, 'customer');
  const owner = await createUser(ctx, 'restaurant');
  const courier = await createUser(ctx, 'courier');
  const admin = await createUser(ctx, 'admin');
  const restaurant = await createRestaurant(ctx, owner);
  return { customer, owner, courier, admin, restaurant };
}

describe('order transitions', () => {
  it('when a placed order is marked ready, the answer is 409 with current_status placed and nothing changes', async () => {
    const { customer, owner, restaurant } = await cast();
    const order = await placeOrder(ctx, customer, restaurant);
    await expectConflict(owner, order.id, 'ready', 'placed');
    await expectConflict(owner, order.id, 'preparing', 'placed');
    assert.deepEqual(await stored(order.id), { status: 'placed', version: 1, courier_id: null, events: 1 });
  });

  it('when an order is delivered, every further action, even by an admin, is 409 with current_status delivered', async () => {
    const { customer, courier, admin, restaurant } = await cast();
    const order = await placeOrder(ctx, customer, restaurant);
    await ok(admin, order.id, 'accept');
    await ok(admin, order.id, 'preparing');
    await ok(admin, order.id, 'assign', { courier_id: courier.id });
    await ok(admin, order.id, 'ready');
    await ok(courier, order.id, 'picked-up');
    assert.equal((await ok(courier, order.id, 'delivered')).status, 'delivered');
    for (const path of ['cancel', 'accept', 'reject', 'preparing', 'ready', 'picked-up', 'delivered']) {
      await expectConflict(admin, order.id, path, 'delivered');
    }
    await expectConflict(customer, order.id, 'cancel', 'delivered');
    await expectConflict(courier, order.id, 'delivered', 'delivered');
  });

  it('when an admin marks a ready order picked up with no courier assigned, the answer is 409 and it stays ready', async () => {
    const { customer, admin, restaurant } = await cast();
    const order = await placeOrder(ctx, customer, restaurant);
    for (const step of ['accept', 'preparing', 'ready']) await ok(admin, order.id, step);
    await expectConflict(admin, order.id, 'picked-up', 'ready', {}, /courier/i);
    assert.equal((await stored(order.id)).status, 'ready');
  });

  it('when a courier is assigned after pick-up, the answer is 409 and the courier stays the same', async () => {
    const { customer, owner, courier, admin, restaurant } = await cast();
    const other = await createUser(ctx, 'courier');
    const order = await placeOrder(ctx, customer, restaurant);
    await ok(owner, order.id, 'accept');
    await ok(owner, order.id, 'preparing');
    await ok(admin, order.id, 'assign', { courier_id: courier.id });
    await ok(owner, order.id, 'ready');
    await ok(courier, order.id, 'picked-up');
    await expectConflict(admin, order.id, 'assign', 'picked_up', { courier_id: other.id }, /courier/i);
    assert.equal((await stored(order.id)).courier_id, courier.id);
  });

  it('a customer may cancel a confirmed order, with the reason kept on the order and its event', async () => {
    const { customer, owner, restaurant } = await cast();
    const order = await placeOrder(ctx, customer, restaurant);
    await ok(owner, order.id, 'accept');
    const cancelled = await ok(customer, order.id, 'cancel', { reason: 'ordered by mistake' });
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(cancelled.status_reason, 'ordered by mistake');
    const { rows } = await ctx.sql.query(
      'SELECT o.status_reason, e.from_status, e.to_status, e.actor_role, e.actor_id, e.reason FROM orders o JOIN order_events e ON e.order_id = o.id WHERE o.id = $1 ORDER BY e.id DESC LIMIT 1',
      [order.id],
    );
    assert.deepEqual(rows, [
      { status_reason: 'ordered by mistake', from_status: 'confirmed', to_status: 'cancelled', actor_role: 'customer', actor_id: customer.id, reason: 'ordered by mistake' },
    ]);
  });

  it('when a customer cancels an order already being prepared, the answer is 403 and it keeps preparing', async () => {
    const { customer, owner, restaurant } = await cast();
    const order = await placeOrder(ctx, customer, restaurant);
    await ok(owner, order.id, 'accept');
    await ok(owner, order.id, 'preparing');
    const before = await stored(order.id);
    const res = await act(customer, order.id, 'cancel', { reason: 'too slow' });
    assert.equal(res.statusCode, 403, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(await stored(order.id), before);
    assert.equal(before.status, 'preparing');
  });

  it('a restaurant rejecting an order stores its reason in status_reason and in the order_events row', async () => {
    const { customer, owner, restaurant } = await cast();
    const order = await placeOrder(ctx, customer, restaurant);
    const rejected = await ok(owner, order.id, 'reject', { reason: 'out of paneer' });
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.status_reason, 'out of paneer');
    const { rows: orders } = await ctx.sql.query('SELECT status, status_reason, version FROM orders WHERE id = $1', [order.id]);
    assert.deepEqual(orders, [{ status: 'rejected', status_reason: 'out of paneer', version: 2 }]);
    const { rows: events } = await ctx.sql.query(
      'SELECT from_status, to_status, actor_id, actor_role, reason FROM order_events WHERE order_id = $1 ORDER BY id',
      [order.id],
    );
    assert.deepEqual(events.at(-1), { from_status: 'placed', to_status: 'rejected', actor_id: owner.id, actor_role: 'restaurant', reason: 'out of paneer' });
  });

  it('a restaurant cannot act on another restaurant’s order: 404, nothing changes', async () => {
    const { customer, restaurant } = await cast();
    const stranger = await createUser(ctx, 'restaurant');
    await createRestaurant(ctx, stranger);
    const order = await placeOrder(ctx, customer, restaurant);
    const res = await act(stranger, order.id, 'accept');
    assert.equal(res.statusCode, 404, res.body);
    assert.deepEqual(await stored(order.id), { status: 'placed', version: 1, courier_id: null, events: 1 });
  });
});

describe('while checkout runs', () => {
  it('every person’s move and a courier assignment are 409 and change nothing; checkout still decides, and the order moves afterwards', async () => {
    const { customer, owner, courier, admin } = await cast();
    const restaurant = await createRestaurant(ctx, owner, { pos: true });
    // Slow enough to act in between, fast enough to stay inside the attempt timeout and the flow deadline.
    await ctx.sim.set('payments', { median_ms: 900, p99_ms: 1000 });
    try {
      const placing = placeOrder(ctx, customer, restaurant);
      const orderId = await eventually('the placed order', async () => {
        const { rows } = await ctx.sql.query<{ id: string }>('SELECT id FROM orders WHERE customer_id = $1', [customer.id]);
        return rows[0]?.id;
      });
      const running = /Checkout is still running/;
      await expectConflict(admin, orderId, 'assign', 'placed', { courier_id: courier.id }, running);
      await expectConflict(customer, orderId, 'cancel', 'placed', {}, running);
      await expectConflict(owner, orderId, 'accept', 'placed', {}, running);
      await expectConflict(admin, orderId, 'reject', 'placed', {}, running);

      const decided = await placing;
      assert.equal(decided.status, 'confirmed', 'checkout’s own move was not lost to the refused ones');
      assert.deepEqual(await stored(orderId), { status: 'confirmed', version: 2, courier_id: null, events: 2 });
      assert.equal((await ok(admin, orderId, 'assign', { courier_id: courier.id })).courier_id, courier.id);
      assert.deepEqual(await stored(orderId), { status: 'confirmed', version: 3, courier_id: courier.id, events: 3 });
    } finally {
      await ctx.sim.fast();
    }
  });
});

describe('racing writes', () => {
  it('when accept and reject race on each of 20 orders, exactly one wins per order and the loser gets 409 naming the winner', async () => {
    const { customer, owner, restaurant } = await cast();
    const orders = [];
    for (let i = 0; i < 20; i++) orders.push(await placeOrder(ctx, customer, restaurant));
    const results = await Promise.all(
      orders.flatMap((o) => [act(owner, o.id, 'accept', {}), act(owner, o.id, 'reject', { reason: 'busy' })]),
    );
    for (const [i, order] of orders.entries()) {
      const accept = results[2 * i]!;
      const reject = results[2 * i + 1]!;
      const codes = [accept.statusCode, reject.statusCode].sort();
      assert.deepEqual(codes, [200, 409], `order ${i}: accept ${accept.body} / reject ${reject.body}`);
      const [winner, loser] = accept.statusCode === 200 ? [accept, reject] : [reject, accept];
      const status = winner.json().status;
      assert.equal(status, accept.statusCode === 200 ? 'confirmed' : 'rejected');
      assert.equal(loser.json().current_status, status);
      const row = await stored(order.id);
      assert.deepEqual({ status: row.status, version: row.version, events: row.events }, { status, version: 2, events: 2 });
    }
  });

  it('when two `preparing` requests race on one confirmed order, one gets 200 and the other 409', async () => {
    const { customer, owner, admin, restaurant } = await cast();
    const order = await placeOrder(ctx, customer, restaurant);
    await ok(owner, order.id, 'accept');
    const results = await Promise.all([act(owner, order.id, 'preparing'), act(admin, order.id, 'preparing')]);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 409], results.map((r) => r.body).join('\n'));
    assert.equal(results.find((r) => r.statusCode === 409)!.json().current_status, 'preparing');
    assert.deepEqual(await stored(order.id), { status: 'preparing', version: 3, courier_id: null, events: 3 });
  });
});
