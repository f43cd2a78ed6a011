import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { build } from '../src/app.ts';
import type { BusChannels } from '../src/live/bus-messages.ts';
import { LocalBus } from '../src/live/event-bus.ts';
import { TestSocket, listen } from './courier.helper.ts';
import { type Actor, CENTER, createRestaurant, createUser, eventually, partnerEnv, placeOrder, setup, testConfig } from './helper.ts';

// Timers off (positions written when the test flushes); the rate cap off, so every fix is published at once.
const bus = new LocalBus();
const ctx = await setup({ background: false, bus, env: { COURIER_MIN_FIX_INTERVAL_MS: '0' } });
await ctx.app.listen({ host: '127.0.0.1', port: 0 });
const base = `ws://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}/v1/courier/stream`;
const http = base.replace('ws://', 'http://').replace('/v1/courier/stream', '');

const connect = (who: Actor) => TestSocket.open(base, who.auth);

async function refusal(url: string, headers: Record<string, string> = {}) {
  try {
    const s = await TestSocket.open(url, headers);
    await s.close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status;
  }
}

async function ticketOf(who: Actor) {
  const res = await ctx.app.inject({ method: 'POST', url: '/v1/courier/stream-ticket', headers: who.auth });
  assert.equal(res.statusCode, 200, res.body);
  return res.json<{ ticket: string; expires_in: number }>();
}

async function onShift(who: Actor) {
  const res = await ctx.app.inject({ method: 'POST', url: '/v1/courier/shift', headers: who.auth, payload: { online: true, ...CENTER } });
  assert.equal(res.statusCode, 200, res.body);
  await eventually('the directory to list the courier', async () => ctx.app.services.courierDirectory.isOnShift(who.id));
}

function offerFor(courier: Actor, overrides: Partial<BusChannels['dispatch.offer']> = {}): BusChannels['dispatch.offer'] {
  return {
    offer_id: randomUUID(),
    courier_id: courier.id,
    order_id: randomUUID(),
    zone: '8660000ffffffff',
    expires_at: Date.now() + 30_000,
    pickup: { restaurant_id: randomUUID(), name: 'Test Kitchen', lat: CENTER.lat, lng: CENTER.lng },
    dropoff: { lat: CENTER.lat, lng: CENTER.lng + 0.01, address: '12 Marine Drive' },
    pickup_km: 1.2,
    delivery_km: 2.5,
    ...overrides,
  };
}

describe('the courier stream', () => {
  it('greets a courier signed in with the Authorization header, and counts the socket', async () => {
    const c = await createUser(ctx, 'courier');
    const s = await connect(c);
    const hello = await s.next('hello');
    assert.deepEqual(hello, { type: 'hello', courier_id: c.id, on_shift: false });
    assert.equal(ctx.app.metrics.liveSources.connections?.().courier_socket, 1);
    assert.deepEqual(await s.ask({ type: 'ping' }, 'pong'), { type: 'pong' });
    await s.close();
    await eventually('the count to drop', async () => ctx.app.metrics.liveSources.connections?.().courier_socket === 0);
  });

  it('opens with a courier\'s ticket; refuses a customer\'s ticket or token, an API token as a ticket, and no credentials', async () => {
    const courier = await createUser(ctx, 'courier');
    const customer = await createUser(ctx, 'customer');
    const { ticket, expires_in } = await ticketOf(courier);
    assert.ok(expires_in > 0);
    const s = await TestSocket.open(`${base}?ticket=${encodeURIComponent(ticket)}`);
    assert.equal((await s.next('hello')).courier_id, courier.id);
    await s.close();

    assert.equal(await refusal(base), 401, 'no credentials');
    assert.equal(await refusal(base, customer.auth), 403, 'a customer\'s token');
    assert.equal(await refusal(`${base}?ticket=${encodeURIComponent(courier.token)}`), 401, 'an API token is not a ticket');
    assert.equal(await refusal(`${base}?ticket=garbage`), 401);
    const customerTicket = ctx.app.services.tokens.issueTicket({ id: customer.id, role: 'customer', version: 1 });
    assert.equal(await refusal(`${base}?ticket=${encodeURIComponent(customerTicket)}`), 403, 'a customer\'s ticket');

    // And a ticket is no API token.
    const asToken = await ctx.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${ticket}` } });
    assert.equal(asToken.statusCode, 401);
  });

  it('answers a plain GET (no upgrade) with a 426 problem', async () => {
    const c = await createUser(ctx, 'courier');
    const res = await fetch(`${http}/v1/courier/stream`, { headers: c.auth });
    assert.equal(res.status, 426);
    assert.match(String(res.headers.get('content-type')), /application\/problem\+json/);
    assert.equal(res.headers.get('upgrade'), 'websocket');
    const injected = await ctx.app.inject({ method: 'GET', url: '/v1/courier/stream', headers: c.auth });
    assert.equal(injected.statusCode, 426);
    assert.equal((await fetch(`${http}/v1/courier/stream`)).status, 401);
  });

  it('answers every malformed message with an error and keeps the socket open', async () => {
    const c = await createUser(ctx, 'courier');
    const s = await connect(c);
    await s.next('hello');
    const cases: [string | Buffer | Record<string, unknown>, string, { binary?: boolean }?][] = [
      ['not json', 'bad_json'],
      [Buffer.from([1, 2, 3]), 'binary_not_supported', { binary: true }],
      ['[1,2]', 'unknown_type'],
      [{ type: 'teleport' }, 'unknown_type'],
      [{ lat: 1 }, 'unknown_type'],
      [{ type: 'position', lat: 'north', lng: 0 }, 'invalid_message'],
      [{ type: 'position', lat: 100, lng: 0 }, 'invalid_message'],
      [{ type: 'accept' }, 'invalid_message'],
      [{ type: 'move', order_id: randomUUID(), to: 'cancelled' }, 'invalid_message'],
      [{ type: 'ping', extra: true }, 'invalid_message'],
      [{ type: 'ping', pad: 'x'.repeat(5_000) }, 'too_large'],
      [{ type: 'position', ...CENTER }, 'off_shift'],
    ];
    for (const [message, code, opts] of cases) {
      const reply = await s.ask(message, 'error', opts);
      assert.equal(reply.code, code, `${JSON.stringify(message).slice(0, 60)} → ${JSON.stringify(reply)}`);
      assert.equal(typeof reply.detail, 'string');
    }
    assert.deepEqual(await s.ask({ type: 'ping' }, 'pong'), { type: 'pong' }, 'still open');
    await s.close();
  });

  it('closes a socket that keeps sending malformed messages (1008, with a reason)', async () => {
    const c = await createUser(ctx, 'courier');
    const s = await connect(c);
    await s.next('hello');
    for (let i = 0; i < 25; i++) s.send('{');
    const closed = await s.closedBy();
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /malformed/);
  });

  it('publishes the courier\'s positions and writes them with the next flush', async () => {
    const c = await createUser(ctx, 'courier');
    await onShift(c);
    const heard = listen(bus, 'courier.position');
    const s = await connect(c);
    assert.equal((await s.next('hello')).on_shift, true);
    // About 20 m from where the shift began: plausible however soon it comes.
    const p = { lat: CENTER.lat + 0.0002, lng: CENTER.lng };
    s.send({ type: 'position', ...p });
    await eventually('the position on the bus', async () => heard.some((m) => m.courier_id === c.id && m.lat === p.lat));
    const glitch = await s.ask({ type: 'position', lat: CENTER.lat + 1, lng: CENTER.lng }, 'error');
    assert.equal(glitch.code, 'glitch');
    await ctx.app.services.couriers.flush();
    const { rows } = await ctx.sql.query('SELECT lat, lng FROM couriers WHERE user_id = $1', [c.id]);
    assert.deepEqual(rows[0], p);
    await s.close();
  });

  it('relays an answer only to the offer made to the courier answering', async () => {
    const a = await createUser(ctx, 'courier');
    const b = await createUser(ctx, 'courier');
    const [sa, sb] = [await connect(a), await connect(b)];
    await Promise.all([sa.next('hello'), sb.next('hello')]);
    const answers = listen(bus, 'dispatch.answer');
    const offer = offerFor(a);
    bus.publish('dispatch.offer', offer);

    const got = await sa.next('offer');
    assert.equal(got.offer_id, offer.offer_id);
    assert.deepEqual(got.pickup, offer.pickup);
    assert.equal(got.expires_at, offer.expires_at);
    assert.equal(got.zone, undefined, 'zones are the dispatcher\'s business');

    const stolen = await sb.ask({ type: 'accept', offer_id: offer.offer_id }, 'error');
    assert.equal(stolen.code, 'unknown_offer');
    assert.equal(stolen.ref, offer.offer_id);
    const unknown = await sa.ask({ type: 'accept', offer_id: randomUUID() }, 'error');
    assert.equal(unknown.code, 'unknown_offer');

    sa.send({ type: 'accept', offer_id: offer.offer_id });
    await eventually('the answer on the bus', async () => answers.length > 0);
    assert.deepEqual(answers, [{ offer_id: offer.offer_id, courier_id: a.id, zone: offer.zone, accept: true }]);
    const twice = await sa.ask({ type: 'decline', offer_id: offer.offer_id }, 'error');
    assert.equal(twice.code, 'unknown_offer', 'an offer is answered once');

    bus.publish('dispatch.offer_closed', { offer_id: offer.offer_id, courier_id: a.id, order_id: offer.order_id, outcome: 'assigned' });
    assert.deepEqual(await sa.next('offer_closed'), { type: 'offer_closed', offer_id: offer.offer_id, order_id: offer.order_id, outcome: 'assigned' });
    assert.equal(sb.messages.filter((m) => m.type === 'offer' || m.type === 'offer_closed').length, 0, 'B heard nothing of A\'s offer');
    await Promise.all([sa.close(), sb.close()]);
  });

  it('re-sends an open offer to a courier who reconnects, and declines are relayed too', async () => {
    const c = await createUser(ctx, 'courier');
    const answers = listen(bus, 'dispatch.answer');
    const offer = offerFor(c);
    bus.publish('dispatch.offer', offer);
    await new Promise((r) => setImmediate(r));
    const s = await connect(c);
    assert.equal((await s.next('offer')).offer_id, offer.offer_id);
    s.send({ type: 'decline', offer_id: offer.offer_id });
    await eventually('the decline', async () => answers.some((m) => m.offer_id === offer.offer_id && !m.accept));
    await s.close();
  });

  it('moves an order through its one owner: the assigned courier may, another courier may not', async () => {
    const [customer, owner, admin, mine, other] = (await Promise.all(
      (['customer', 'restaurant', 'admin', 'courier', 'courier'] as const).map((role) => createUser(ctx, role)),
    )) as [Actor, Actor, Actor, Actor, Actor];
    const restaurant = await createRestaurant(ctx, owner);
    const { id } = await placeOrder(ctx, customer, restaurant);
    const step = async (action: string, who: Actor, payload: Record<string, unknown> = {}) => {
      const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${id}/${action}`, headers: who.auth, payload });
      assert.equal(res.statusCode, 200, `${action}: ${res.body}`);
    };
    await step('accept', owner);
    await step('assign', admin, { courier_id: mine.id });
    await step('preparing', owner);
    await step('ready', owner);

    const [sm, so] = [await connect(mine), await connect(other)];
    await Promise.all([sm.next('hello'), so.next('hello')]);
    const refused = await so.ask({ type: 'move', order_id: id, to: 'picked_up' }, 'error');
    assert.equal(refused.code, 'not_found');
    assert.equal(refused.ref, id);
    const early = await sm.ask({ type: 'move', order_id: id, to: 'delivered' }, (m) => m.type === 'error' || m.type === 'moved');
    assert.deepEqual([early.type, early.code], ['error', 'conflict']);
    const moved = await sm.ask({ type: 'move', order_id: id, to: 'picked_up' }, (m) => m.type === 'error' || m.type === 'moved');
    assert.equal(moved.type, 'moved', JSON.stringify(moved));
    assert.equal(moved.order.id, id);
    assert.equal(moved.order.status, 'picked_up');
    const { rows } = await ctx.sql.query('SELECT status FROM orders WHERE id = $1', [id]);
    assert.equal(rows[0].status, 'picked_up');
    await Promise.all([sm.close(), so.close()]);
  });

  it('a second socket of the same courier replaces the first', async () => {
    const c = await createUser(ctx, 'courier');
    const first = await connect(c);
    await first.next('hello');
    const second = await connect(c);
    await second.next('hello');
    const closed = await first.closedBy();
    assert.equal(closed.code, 4000);
    assert.match(closed.reason, /replaced/);
    assert.deepEqual(await second.ask({ type: 'ping' }, 'pong'), { type: 'pong' });
    assert.equal(ctx.app.metrics.liveSources.connections?.().courier_socket, 1);
    await second.close();
  });

  it('disconnects a courier that stops reading (1008) rather than buffering for it without end', async () => {
    const c = await createUser(ctx, 'courier');
    const s = await connect(c);
    await s.next('hello');
    const cut = () => ctx.app.metrics.liveDisconnects.get().then((m) => m.values.find((v) => v.labels.reason === 'slow_consumer')?.value ?? 0);
    const before = await cut();
    const raw = (s.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    // Megabytes of offers the client does not read: the kernel's buffers fill, then the server's bound is passed.
    for (let i = 0; i < 20_000; i++) bus.publish('dispatch.offer', offerFor(c));
    await eventually('the server to give up on the reader', async () => (await cut()) > before);
    raw.resume();
    const closed = await s.closedBy();
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /slow consumer/);
  });

  it('publishes the socket\'s messages as AsyncAPI 3.0, linked from the OpenAPI description', async () => {
    const res = await ctx.app.inject('/asyncapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.equal(doc.asyncapi, '3.0.0');
    assert.equal(doc.channels.courierStream.address, '/v1/courier/stream');
    for (const name of ['position', 'accept', 'decline', 'move', 'ping', 'hello', 'offer', 'offer_closed', 'moved', 'pong', 'error']) {
      assert.ok(doc.components.messages[name], name);
      assert.equal(doc.components.schemas[name].properties.type.const, name);
    }
    const openapi = (await ctx.app.inject('/openapi.json')).json();
    assert.match(openapi.paths['/v1/courier/stream'].get.description, /asyncapi\.json/);
  });
});

describe('shutdown', () => {
  it('closes every courier socket with 1012, so the courier reconnects to another node', async () => {
    const node = await build(testConfig(ctx.url, { ...partnerEnv(ctx.sim) }), { background: false });
    await node.listen({ host: '127.0.0.1', port: 0 });
    const url = `ws://127.0.0.1:${(node.server.address() as { port: number }).port}/v1/courier/stream`;
    const couriers = await Promise.all([createUser(ctx, 'courier'), createUser(ctx, 'courier')]);
    const sockets = await Promise.all(couriers.map((c) => TestSocket.open(url, c.auth)));
    await Promise.all(sockets.map((s) => s.next('hello')));
    await node.close();
    for (const s of sockets) {
      const closed = await s.closedBy();
      assert.equal(closed.code, 1012);
      assert.match(closed.reason, /reconnect/);
    }
  });
});
