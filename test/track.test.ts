import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { Channel } from '../src/live/bus-messages.ts';
import { type Handler, LocalBus } from '../src/live/event-bus.ts';
import { stopServer } from '../src/server.ts';
import { type Actor, type TestContext, createRestaurant, createUser, eventually, placeOrder, setup } from './helper.ts';
import { RawStream, eventSource, listen, statuses } from './sse.helper.ts';

const LIVE = { LIVE_HEARTBEAT_MS: '1000', LIVE_RECONNECT_MS: '250', LIVE_POSITION_INTERVAL_MS: '1000' };
/** The in-process bus, counting subscriptions: a node must subscribe once, whatever its number of watchers. */
class CountingBus extends LocalBus {
  subscriptions = 0;
  override subscribe<C extends Channel>(channel: C, handler: Handler<C>) {
    this.subscriptions++;
    return super.subscribe(channel, handler);
  }
}
const bus = new CountingBus();
const ctx = await setup({ bus, env: LIVE });
const base = await listen(ctx.app);

const [customer, otherCustomer, owner, courier, otherCourier, admin] = await Promise.all(
  (['customer', 'customer', 'restaurant', 'courier', 'courier', 'admin'] as const).map((role) => createUser(ctx, role)),
);
const restaurant = await createRestaurant(ctx, owner!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function act(who: Actor, orderId: string, path: string, payload?: object, app: TestContext = ctx) {
  const res = await app.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/${path}`, headers: who.auth, ...(payload ? { payload } : {}) });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
}

const track = (orderId: string, headers: Record<string, string> = customer!.auth, query = '') =>
  new RawStream(`${base}/v1/orders/${orderId}/track${query}`, headers);

async function eventIds(orderId: string, c: TestContext = ctx) {
  const { rows } = await c.sql.query<{ id: string }>('SELECT id FROM order_events WHERE order_id = $1 ORDER BY id', [orderId]);
  return rows.map((r) => String(r.id));
}

const counter = async (name: 'liveDisconnects' | 'liveMessagesDropped', labels: Record<string, string>) => {
  const { values } = await ctx.app.metrics[name].get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k as 'kind'] === x)).reduce((n, v) => n + v.value, 0);
};

describe('GET /v1/orders/:id/track', () => {
  it('sends every status event in order with its id, and ends after the final status', async () => {
    const order = await placeOrder(ctx, customer!, restaurant);
    const s = track(order.id);
    await s.opened;
    assert.equal(s.status, 200);
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    assert.equal(s.headers['cache-control'], 'no-store');
    assert.equal(s.headers['x-accel-buffering'], 'no');
    assert.equal(s.headers['x-content-type-options'], 'nosniff');
    // An idle watcher pays for every header its response keeps: none of the document headers.
    for (const document of ['content-security-policy', 'x-frame-options', 'referrer-policy', 'cross-origin-opener-policy']) {
      assert.equal(s.headers[document], undefined, document);
    }
    await s.until('the retry field', () => s.messages.length > 0);
    assert.equal(s.messages[0]!.retry, 250, 'retry: comes first');
    await s.until('placed', () => statuses(s).length === 1);

    await act(owner!, order.id, 'accept');
    await act(owner!, order.id, 'preparing');
    await act(admin!, order.id, 'assign', { courier_id: courier!.id });
    await act(owner!, order.id, 'ready');
    await act(courier!, order.id, 'picked-up');
    await act(courier!, order.id, 'delivered');
    await s.done;

    const got = statuses(s);
    assert.deepEqual(got.map((e) => `${e.kind}:${e.from}->${e.to}`), [
      'status:null->placed',
      'status:placed->confirmed',
      'status:confirmed->preparing',
      'courier_assigned:preparing->preparing',
      'status:preparing->ready',
      'status:ready->picked_up',
      'status:picked_up->delivered',
    ]);
    assert.deepEqual(got.map((e) => e.id), await eventIds(order.id), 'each id is the event row, in order');
    assert.deepEqual(got.map((e) => String(e.event_id)), got.map((e) => e.id));
    assert.equal(got[3]!.courier_id, courier!.id);
    assert.ok(got.every((e) => e.order_id === order.id && !Number.isNaN(Date.parse(e.at))));

    // Reconnecting after the final status: nothing more will come, which tells an EventSource to stop.
    const again = await fetch(`${base}/v1/orders/${order.id}/track`, { headers: { ...customer!.auth, 'last-event-id': got.at(-1)!.id! } });
    assert.equal(again.status, 204);
    // An ended order watched from the start: its whole history, then the end.
    const fromStart = track(order.id);
    await fromStart.done;
    assert.equal(statuses(fromStart).length, 7);
  });

  it('a watcher that reconnects with Last-Event-ID gets exactly the events it missed, once each, in order', async () => {
    const order = await placeOrder(ctx, customer!, restaurant);
    await act(owner!, order.id, 'accept');
    const first = track(order.id);
    await first.until('placed and confirmed', () => statuses(first).length === 2);
    // Heartbeats keep an idle stream open through proxies.
    await first.until('a heartbeat comment', () => first.messages.some((m) => m.comment), 5_000);
    first.close();
    const lastSeen = statuses(first).at(-1)!.id!;

    await act(owner!, order.id, 'preparing');
    await act(admin!, order.id, 'assign', { courier_id: courier!.id });
    await act(owner!, order.id, 'ready');
    const missed = (await eventIds(order.id)).slice(2);
    assert.equal(missed.length, 3);

    const resumed = track(order.id, { ...customer!.auth, 'last-event-id': lastSeen });
    const byQuery = track(order.id, customer!.auth, `?last_event_id=${lastSeen}`);
    for (const s of [resumed, byQuery]) {
      await s.until('the three missed events', () => statuses(s).length === 3);
      await sleep(300);
      assert.deepEqual(statuses(s).map((e) => e.id), missed);
      assert.deepEqual(statuses(s).map((e) => e.to), ['preparing', 'preparing', 'ready']);
    }
    byQuery.close();
    await act(courier!, order.id, 'picked-up');
    await resumed.until('picked up', () => statuses(resumed).length === 4);
    await sleep(300);
    assert.deepEqual(statuses(resumed).map((e) => e.id), await eventIds(order.id).then((ids) => ids.slice(2)));
    resumed.close();
  });

  it("someone else's order is a 404, no token a 401, as problems before any stream", async () => {
    const order = await placeOrder(ctx, customer!, restaurant);
    const cases: [Record<string, string>, number][] = [
      [otherCustomer!.auth, 404],
      [otherCourier!.auth, 404],
      [{}, 401],
      [{ authorization: 'Bearer not.a.token' }, 401],
    ];
    for (const [headers, status] of cases) {
      const res = await fetch(`${base}/v1/orders/${order.id}/track`, { headers });
      assert.equal(res.status, status);
      assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.match(String(res.headers.get('content-security-policy')), /default-src 'none'/);
      assert.match(String(res.headers.get('strict-transport-security')), /^max-age=\d{7,}/);
      assert.equal(((await res.json()) as { status: number }).status, status);
    }
    const ghost = await fetch(`${base}/v1/orders/${randomUUID()}/track`, { headers: admin!.auth });
    assert.equal(ghost.status, 404);
    assert.equal((await fetch(`${base}/v1/orders/not-a-uuid/track`, { headers: admin!.auth })).status, 400);
    // The restaurant's owner and an admin see it.
    for (const who of [owner!, admin!]) {
      const s = track(order.id, who.auth);
      await s.until('placed', () => statuses(s).length === 1);
      s.close();
    }
  });

  it('a stream ticket opens a stream from an EventSource; an API token is not a ticket, nor a ticket an API token', async () => {
    const order = await placeOrder(ctx, customer!, restaurant);
    const res = await ctx.app.inject({ method: 'POST', url: '/v1/auth/stream-ticket', headers: customer!.auth });
    assert.equal(res.statusCode, 200, res.body);
    const { ticket, expires_in } = res.json<{ ticket: string; expires_in: number }>();
    assert.ok(expires_in > 0 && expires_in <= 30);

    const es = eventSource(`${base}/v1/orders/${order.id}/track?ticket=${ticket}`);
    const received: string[] = [];
    es.addEventListener('status', (e) => received.push(JSON.parse(e.data).to));
    await eventually('the placed event through a ticket', async () => received.includes('placed'), 10_000);
    es.close();

    const asTicket = await fetch(`${base}/v1/orders/${order.id}/track?ticket=${customer!.token}`);
    assert.equal(asTicket.status, 401);
    for (const url of [`/v1/orders/${order.id}/track`, `/v1/orders/${order.id}`]) {
      const asBearer = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${ticket}` } });
      assert.equal(asBearer.status, 401, url);
    }
    // A ticket is someone's: another customer's ticket sees only their orders.
    const theirs = (await ctx.app.inject({ method: 'POST', url: '/v1/auth/stream-ticket', headers: otherCustomer!.auth })).json<{ ticket: string }>();
    assert.equal((await fetch(`${base}/v1/orders/${order.id}/track?ticket=${theirs.ticket}`)).status, 404);
  });

  it("sends the courier's positions at most once a second, the latest winning, and only while that courier holds the order", async () => {
    const order = await placeOrder(ctx, customer!, restaurant);
    await act(owner!, order.id, 'accept');
    const s = track(order.id);
    await s.until('confirmed', () => statuses(s).length === 2);
    const position = (who: Actor, lat: number) => bus.publish('courier.position', { courier_id: who.id, lat, lng: 72.88, at: Date.now() });

    // Not yet this order's courier.
    for (let i = 0; i < 3; i++) position(courier!, 19.05);
    await sleep(500);
    assert.equal(s.of('position').length, 0, 'no courier holds the order yet');

    await act(admin!, order.id, 'assign', { courier_id: courier!.id });
    await s.until('the assignment', () => statuses(s).length === 3);
    const coalescedBefore = await counter('liveMessagesDropped', { kind: 'order_track', reason: 'coalesced' });
    let lat = 19.05;
    for (let i = 0; i < 20; i++) {
      lat += 0.0005;
      position(courier!, lat);
      position(otherCourier!, 10);
      await sleep(100);
    }
    await sleep(1_500);
    const positions = s.of('position').map((m) => JSON.parse(m.data) as { courier_id: string; lat: number; order_id: string; at: number });
    assert.ok(positions.length >= 2 && positions.length <= 3, `20 fixes in 2 s became ${positions.length} positions`);
    assert.ok(positions.every((p) => p.courier_id === courier!.id && p.order_id === order.id), "only the order's courier");
    assert.equal(positions.at(-1)!.lat, lat, 'the latest fix wins');
    assert.ok(s.of('position').every((m) => m.id === undefined), 'positions carry no id, so Last-Event-ID stays the last status');
    assert.ok((await counter('liveMessagesDropped', { kind: 'order_track', reason: 'coalesced' })) > coalescedBefore);
    const etas = s.of('eta').map((m) => JSON.parse(m.data) as { minutes: number });
    assert.ok(etas.length >= 1 && etas.every((e) => Number.isInteger(e.minutes) && e.minutes > 0), JSON.stringify(etas));

    // Cancelled: the courier no longer holds it, and the stream ends.
    await act(admin!, order.id, 'cancel');
    await s.done;
    const shown = s.of('position').length;
    position(courier!, 19.1);
    await sleep(300);
    assert.equal(s.of('position').length, shown);
  });

  it("says so when the courier gives the order back (off shift before the pick-up), and stops sending that courier's positions", async () => {
    const order = await placeOrder(ctx, customer!, restaurant);
    await act(owner!, order.id, 'accept');
    const leaving = await createUser(ctx, 'courier');
    const shift = (online: boolean) =>
      ctx.app.inject({ method: 'POST', url: '/v1/courier/shift', headers: leaving.auth, payload: { online, ...(online ? { lat: 19.07, lng: 72.88 } : {}) } });
    assert.equal((await shift(true)).statusCode, 200);
    await act(admin!, order.id, 'assign', { courier_id: leaving.id });
    const s = track(order.id);
    await s.until('the assignment', () => statuses(s).length === 3);
    const position = (lat: number) => bus.publish('courier.position', { courier_id: leaving.id, lat, lng: 72.88, at: Date.now() });
    position(19.06);
    await s.until('a position', () => s.of('position').length === 1);

    const off = await shift(false);
    assert.equal(off.statusCode, 200, off.body);
    await s.until('the release', () => statuses(s).length === 4);
    const release = statuses(s).at(-1)!;
    assert.deepEqual(
      { kind: release.kind, from: release.from, to: release.to, courier_id: release.courier_id, reason: release.reason },
      { kind: 'courier_unassigned', from: 'confirmed', to: 'confirmed', courier_id: leaving.id, reason: 'courier_off_shift' },
    );
    for (let i = 0; i < 3; i++) position(19.065 + i * 0.001);
    await sleep(1_500);
    assert.equal(s.of('position').length, 1, 'no position of a courier who no longer holds the order');
    s.close();
  });

  it('a watcher that reads nothing is cut once its buffer is full, while another watcher of the order keeps up', async () => {
    const order = await placeOrder(ctx, customer!, restaurant);
    await act(owner!, order.id, 'accept');
    const reader = track(order.id);
    await reader.until('confirmed', () => statuses(reader).length === 2);
    const slowCutsBefore = await counter('liveDisconnects', { kind: 'order_track', reason: 'slow_consumer' });
    ctx.app.services.streams.takeHighWater();

    const subscriptions = bus.subscriptions;
    const more = [1, 2, 3, 4, 5].map(() => track(order.id));
    for (const s of more) await s.until('confirmed', () => statuses(s).length === 2);
    assert.equal(bus.subscriptions, subscriptions, 'watchers share the node\'s one subscription');
    for (const s of more) s.close();
    await eventually('the extra watchers to go', async () => ctx.app.services.streams.counts().order_track === 1);

    // A client that sends its request and never reads a byte of the answer.
    const port = new URL(base).port;
    const stuck = net.connect(Number(port), '127.0.0.1');
    stuck.on('error', () => {});
    await new Promise((r) => stuck.once('connect', r));
    stuck.pause();
    stuck.write(`GET /v1/orders/${order.id}/track HTTP/1.1\r\nhost: x\r\nauthorization: ${customer!.auth.authorization}\r\naccept: text/event-stream\r\n\r\n`);
    await eventually('the stuck stream to open', async () => ctx.app.services.streams.counts().order_track === 2, 10_000);

    // More than the kernel's socket buffers hold (a few MiB on loopback): 300 events of 32 KB each.
    await ctx.sql.query(
      `INSERT INTO order_events (order_id, kind, from_status, to_status, actor_role, reason, follow_ups_pending)
       SELECT $1, 'status', 'confirmed', 'confirmed', 'system', repeat(md5(g::text), 1000), false FROM generate_series(1, 300) g`,
      [order.id],
    );
    bus.publish('order.moved', { order_id: order.id, restaurant_id: restaurant.id, customer_id: customer!.id, courier_id: null, status: 'confirmed', version: 2 });

    await reader.until('all 302 events', () => statuses(reader).length === 302, 60_000);
    await eventually('the stuck watcher to be cut', async () => ctx.app.services.streams.counts().order_track === 1, 30_000);
    assert.equal(await counter('liveDisconnects', { kind: 'order_track', reason: 'slow_consumer' }), slowCutsBefore + 1);
    const highWater = ctx.app.services.streams.takeHighWater().order_track!;
    assert.ok(highWater <= ctx.app.config.live.maxBufferBytes, `the server queued ${highWater} bytes for a client`);
    assert.deepEqual(statuses(reader).map((e) => e.id), await eventIds(order.id), 'the reader lost nothing');
    reader.close();
    stuck.destroy();
  });
});

describe('graceful shutdown', () => {
  it('tells every stream to reconnect elsewhere and ends it, so the server closes without waiting for them', async () => {
    const node = await setup({ env: LIVE });
    const nodeBase = await listen(node.app);
    const who = await createUser(node, 'customer');
    const mine = await createRestaurant(node, await createUser(node, 'restaurant'));
    const order = await placeOrder(node, who, mine);
    const streams = [0, 1].map(() => new RawStream(`${nodeBase}/v1/orders/${order.id}/track`, who.auth));
    for (const s of streams) await s.until('placed', () => statuses(s).length === 1);

    await stopServer(node.app, 60_000);
    for (const s of streams) {
      await s.done;
      const last = s.messages.at(-1)!;
      assert.equal(last.event, 'reconnect');
      assert.equal(last.retry, 250);
    }
  });
});
