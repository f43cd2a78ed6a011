import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { type Actor, type TestRestaurant, createRestaurant, createUser, placeOrder, setup } from './helper.ts';
import { RawStream, listen, statuses } from './sse.helper.ts';

const ctx = await setup({ env: { LIVE_HEARTBEAT_MS: '1000', LIVE_RECONNECT_MS: '250' } });
const base = await listen(ctx.app);
const [customer, owner, otherOwner, courier, admin] = await Promise.all(
  (['customer', 'restaurant', 'restaurant', 'courier', 'admin'] as const).map((role) => createUser(ctx, role)),
);
const mine = await createRestaurant(ctx, owner!);
const theirs = await createRestaurant(ctx, otherOwner!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const watch = (r: TestRestaurant, headers: Record<string, string> = owner!.auth) => new RawStream(`${base}/v1/restaurants/${r.id}/orders/stream`, headers);

async function act(who: Actor, orderId: string, path: string) {
  const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/${path}`, headers: who.auth });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
}

/** The restaurant's events after `afterId`, as the database has them. */
async function eventsOf(r: TestRestaurant, afterId = 0) {
  const { rows } = await ctx.sql.query<{ id: string }>(
    'SELECT e.id FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.restaurant_id = $1 AND e.id > $2 ORDER BY e.id',
    [r.id, afterId],
  );
  return rows.map((row) => String(row.id));
}

interface Snapshot {
  restaurant_id: string;
  as_of_event_id: number;
  orders: { id: string; status: string; items: { name: string; quantity: number }[] }[];
  truncated: boolean;
}

describe('GET /v1/restaurants/:id/orders/stream', () => {
  it('is for the restaurant\'s owner and admins: a customer or courier is refused, another owner finds nothing', async () => {
    const cases: [string, Record<string, string>, number][] = [
      ['no token', {}, 401],
      ['a customer', customer!.auth, 403],
      ['a courier', courier!.auth, 403],
      ["another restaurant's owner", otherOwner!.auth, 404],
    ];
    for (const [who, headers, status] of cases) {
      const res = await fetch(`${base}/v1/restaurants/${mine.id}/orders/stream`, { headers });
      assert.equal(res.status, status, who);
      assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/, who);
    }
    assert.equal((await fetch(`${base}/v1/restaurants/${randomUUID()}/orders/stream`, { headers: admin!.auth })).status, 404);
    for (const who of [owner!, admin!]) {
      const s = watch(mine, who.auth);
      await s.until('the snapshot', () => s.of('snapshot').length === 1);
      assert.equal(s.status, 200);
      s.close();
    }
  });

  it('starts with a snapshot of the orders in progress, then sends every status event of its orders and none of others', async () => {
    const [a, b, done] = [await placeOrder(ctx, customer!, mine), await placeOrder(ctx, customer!, mine), await placeOrder(ctx, customer!, mine)];
    await act(owner!, a.id, 'accept');
    await act(owner!, done.id, 'reject');
    const elsewhere = await placeOrder(ctx, customer!, theirs);

    const s = watch(mine);
    await s.until('the snapshot', () => s.of('snapshot').length === 1);
    const snapshot = JSON.parse(s.of('snapshot')[0]!.data) as Snapshot;
    assert.equal(snapshot.restaurant_id, mine.id);
    const inProgress = new Map(snapshot.orders.map((o) => [o.id, o.status]));
    assert.equal(inProgress.get(a.id), 'confirmed');
    assert.equal(inProgress.get(b.id), 'placed');
    assert.ok(!inProgress.has(done.id), 'a rejected order is not in progress');
    assert.ok(!inProgress.has(elsewhere.id), "another restaurant's order");
    assert.ok(snapshot.orders.every((o) => o.items.length > 0));
    assert.deepEqual(await eventsOf(mine, snapshot.as_of_event_id), [], 'the snapshot is as of the newest event');

    const c = await placeOrder(ctx, customer!, mine);
    await act(owner!, b.id, 'accept');
    await act(otherOwner!, elsewhere.id, 'accept');
    await act(owner!, a.id, 'preparing');
    await s.until('three events', () => statuses(s).length === 3);
    await sleep(300);
    const got = statuses(s);
    assert.deepEqual(got.map((e) => `${e.order_id}:${e.to}`), [`${c.id}:placed`, `${b.id}:confirmed`, `${a.id}:preparing`]);
    assert.deepEqual(got.map((e) => e.id), await eventsOf(mine, snapshot.as_of_event_id));
    s.close();
  });

  it('a new order reaches the stream by itself, once its payment is authorised, with no later move to carry it', async () => {
    const s = watch(mine);
    await s.until('the snapshot', () => s.of('snapshot').length === 1);
    const order = await placeOrder(ctx, customer!, mine);
    await s.until('the new order', () => statuses(s).some((e) => e.order_id === order.id));
    const got = statuses(s).filter((e) => e.order_id === order.id);
    assert.deepEqual(got.map((e) => e.to), ['placed']);
    const { rows } = await ctx.sql.query<{ payment_state: string }>('SELECT payment_state FROM orders WHERE id = $1', [order.id]);
    assert.equal(rows[0]!.payment_state, 'authorized', 'the order is the restaurant\'s to accept');
    s.close();
  });

  it('a watcher that reconnects with Last-Event-ID gets exactly the events it missed, with no snapshot', async () => {
    const [a, b] = [await placeOrder(ctx, customer!, mine), await placeOrder(ctx, customer!, mine)];
    const first = watch(mine);
    await first.until('the snapshot', () => first.of('snapshot').length === 1);
    await act(owner!, a.id, 'accept');
    await first.until('confirmed', () => statuses(first).length === 1);
    first.close();
    const lastSeen = statuses(first)[0]!.id!;

    await act(owner!, b.id, 'accept');
    await act(owner!, a.id, 'preparing');
    const elsewhere = await placeOrder(ctx, customer!, theirs);
    await act(otherOwner!, elsewhere.id, 'reject');
    await act(owner!, b.id, 'preparing');
    const missed = await eventsOf(mine, Number(lastSeen));
    assert.equal(missed.length, 3);

    const resumed = watch(mine, { ...owner!.auth, 'last-event-id': lastSeen });
    await resumed.until('the three missed events', () => statuses(resumed).length === 3);
    await sleep(300);
    assert.deepEqual(statuses(resumed).map((e) => e.id), missed);
    assert.equal(resumed.of('snapshot').length, 0);
    resumed.close();
  });

  it('under many concurrent moves of its orders, a watcher gets every event exactly once, in id order', async () => {
    const orders = await Promise.all(Array.from({ length: 12 }, () => placeOrder(ctx, customer!, mine)));
    const s = watch(mine);
    await s.until('the snapshot', () => s.of('snapshot').length === 1);
    const asOf = (JSON.parse(s.of('snapshot')[0]!.data) as Snapshot).as_of_event_id;
    await Promise.all(orders.map(async (o) => {
      await act(owner!, o.id, 'accept');
      await act(owner!, o.id, 'preparing');
    }));
    const expected = await eventsOf(mine, asOf);
    assert.equal(expected.length, 24);
    await s.until('all 24 events', () => statuses(s).length >= 24);
    await sleep(500);
    const ids = statuses(s).map((e) => e.id);
    assert.deepEqual(ids, expected);
    s.close();
  });
});
