/**
 * Dispatch on one node, end to end through the app's own bus: confirmed orders are offered to couriers
 * on shift; accepting assigns (an order_events row), declining or letting an offer expire re-offers the
 * order to someone else; a courier holds one offer at a time; an admin's assign overrides an open
 * offer; an order nobody takes raises one alert; and a batch is solved optimally, not greedily.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { zoneOf } from '../src/dispatch/zones.ts';
import { distanceKm, offset, type Point } from '../src/domain/geo.ts';
import type { BusChannels } from '../src/live/bus-messages.ts';
import { LocalBus } from '../src/live/event-bus.ts';
import { type Actor, CENTER, createRestaurant, createUser, eventually, orderBody, setup } from './helper.ts';
import { LogCollector } from './ops.helper.ts';

const OFFER_TIMEOUT_MS = 1_500;
const ALERT_AFTER_MS = 2_500;

const bus = new LocalBus();
const logStream = new LogCollector();
const ctx = await setup({
  bus,
  logStream,
  env: {
    LOG_LEVEL: 'warn',
    DISPATCH_INTERVAL_MS: '200',
    DISPATCH_LEASE_CHECK_MS: '200',
    OFFER_TIMEOUT_MS: String(OFFER_TIMEOUT_MS),
    DISPATCH_ALERT_AFTER_MS: String(ALERT_AFTER_MS),
  },
});
const resolution = ctx.app.config.dispatch.zoneResolution;

type Offer = BusChannels['dispatch.offer'];
type Closed = BusChannels['dispatch.offer_closed'];
const offers: Offer[] = [];
const closes: Closed[] = [];
bus.subscribe('dispatch.offer', (m) => offers.push(m));
bus.subscribe('dispatch.offer_closed', (m) => closes.push(m));

let areas = 0;
/**
 * A stretch of road of its own for each test, far from every other test's couriers and orders and
 * inside one zone: `at(km)` is a point that many km east of its start.
 */
function area() {
  const north = 40 * ++areas;
  for (let step = 0; step < 40; step++) {
    const start = offset(CENTER, 0, north + step * 0.5);
    const at = (km: number) => offset(start, 90, km);
    const zone = zoneOf(at(0), resolution);
    if ([-1.5, -0.75, 0.75, 1.5, 2.25, 3, 3.5].every((km) => zoneOf(at(km), resolution) === zone)) return { at, zone };
  }
  throw new Error('no stretch of 5 km inside one zone');
}

async function kitchen(at: Point) {
  const owner = await createUser(ctx, 'restaurant');
  return { owner, restaurant: await createRestaurant(ctx, owner, { at }) };
}

/** An order placed and accepted by its restaurant: dispatchable from now on. */
async function confirmedOrder(k: Awaited<ReturnType<typeof kitchen>>, at: Point) {
  const customer = await createUser(ctx, 'customer');
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...customer.auth, 'idempotency-key': randomUUID() },
    payload: orderBody(k.restaurant, { delivery: { ...offset(at, 180, 1), address: '7 Carter Road, Mumbai' } }),
  });
  assert.equal(res.statusCode, 201, res.body);
  const { id } = res.json() as { id: string };
  const accepted = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${id}/accept`, headers: k.owner.auth, payload: {} });
  assert.equal(accepted.statusCode, 200, accepted.body);
  return id;
}

function onShift(courier: Actor, at: Point) {
  bus.publish('courier.shift', { courier_id: courier.id, on_shift: true, lat: at.lat, lng: at.lng, at: Date.now() });
}

function offShift(...couriers: Actor[]) {
  for (const c of couriers) bus.publish('courier.shift', { courier_id: c.id, on_shift: false, lat: null, lng: null, at: Date.now() });
}

function answer(offer: Offer, accept: boolean) {
  bus.publish('dispatch.answer', { offer_id: offer.offer_id, courier_id: offer.courier_id, zone: offer.zone, accept });
}

const offersOf = (orderId: string) => offers.filter((o) => o.order_id === orderId);

function nextOffer(orderId: string, seen = 0) {
  return eventually(`offer #${seen + 1} of order ${orderId}`, async () => offersOf(orderId)[seen]);
}

function closing(offer: Offer) {
  return eventually(`the close of offer ${offer.offer_id}`, async () => closes.find((c) => c.offer_id === offer.offer_id));
}

/** A few dispatch rounds, for checking that something does not happen. */
const someRounds = () => new Promise((r) => setTimeout(r, 1_200));

async function stored(orderId: string) {
  const { rows } = await ctx.sql.query<{ courier_id: string | null; status: string }>('SELECT courier_id, status FROM orders WHERE id = $1', [orderId]);
  return rows[0]!;
}

async function metric(name: string, labels: string) {
  const text = (await ctx.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('dispatch offers', () => {
  it('a confirmed order is offered to a courier on shift nearby; accepting assigns it, with a courier_assigned event', async () => {
    const { at, zone } = area();
    const k = await kitchen(at(0));
    const courier = await createUser(ctx, 'courier');
    const orderId = await confirmedOrder(k, at(0));
    onShift(courier, at(0.5));

    const offer = await nextOffer(orderId);
    const heardAt = Date.now();
    assert.equal(offer.courier_id, courier.id);
    assert.equal(offer.zone, zone);
    assert.equal(offer.pickup.restaurant_id, k.restaurant.id);
    assert.equal(offer.dropoff.address, '7 Carter Road, Mumbai');
    assert.ok(Math.abs(offer.pickup_km - 0.5) < 0.01, `pickup_km ${offer.pickup_km}`);
    assert.ok(offer.expires_at > heardAt - OFFER_TIMEOUT_MS && offer.expires_at <= heardAt + OFFER_TIMEOUT_MS, 'expires OFFER_TIMEOUT_MS after it was made');

    answer(offer, true);
    assert.equal((await closing(offer)).outcome, 'assigned');
    assert.deepEqual(await stored(orderId), { courier_id: courier.id, status: 'confirmed' });
    const { rows } = await ctx.sql.query('SELECT courier_id, actor_role, to_status FROM order_events WHERE order_id = $1 AND kind = $2', [orderId, 'courier_assigned']);
    assert.deepEqual(rows, [{ courier_id: courier.id, actor_role: 'system', to_status: 'confirmed' }]);
    await someRounds();
    assert.equal(offersOf(orderId).length, 1, 'an assigned order is not offered again');
    assert.ok((await metric('dabba_dispatch_offers_total', 'outcome="assigned"'))! >= 1);
    offShift(courier);
  });

  /** A confirmed order at a new kitchen, with one courier on shift near it and another farther off. */
  async function orderBetweenTwoCouriers() {
    const { at } = area();
    const k = await kitchen(at(0));
    const couriers = [await createUser(ctx, 'courier'), await createUser(ctx, 'courier')];
    const orderId = await confirmedOrder(k, at(0));
    onShift(couriers[0]!, at(0.3));
    onShift(couriers[1]!, at(1.5));
    return { couriers, orderId };
  }

  it('a declined order is offered to another courier, never again to the one who declined', async () => {
    const { couriers, orderId } = await orderBetweenTwoCouriers();

    const first = await nextOffer(orderId);
    answer(first, false);
    assert.equal((await closing(first)).outcome, 'declined');
    const second = await nextOffer(orderId, 1);
    assert.notEqual(second.courier_id, first.courier_id);
    answer(second, false);
    assert.equal((await closing(second)).outcome, 'declined');

    await someRounds();
    assert.equal(offersOf(orderId).length, 2, 'both couriers declined: nobody left to offer it to');
    assert.equal((await stored(orderId)).courier_id, null);
    offShift(...couriers);
  });

  it('an offer nobody answers expires at OFFER_TIMEOUT_MS and the order is offered to another courier', async () => {
    const { couriers, orderId } = await orderBetweenTwoCouriers();

    const first = await nextOffer(orderId);
    const closed = await eventually('the expiry', async () => closes.find((c) => c.offer_id === first.offer_id), OFFER_TIMEOUT_MS + 10_000);
    assert.equal(closed.outcome, 'expired');
    assert.ok(Date.now() >= first.expires_at, 'not before its expires_at');
    const second = await nextOffer(orderId, 1);
    assert.notEqual(second.courier_id, first.courier_id);

    answer(first, true);
    answer(second, true);
    assert.equal((await closing(second)).outcome, 'assigned');
    assert.equal((await stored(orderId)).courier_id, second.courier_id, 'an answer to an expired offer is ignored');
    offShift(...couriers);
  });

  it('a courier holds one offer at a time: the next order waits until the first offer closes', async () => {
    const { at } = area();
    const k = await kitchen(at(0));
    const courier = await createUser(ctx, 'courier');
    const orderIds = [await confirmedOrder(k, at(0)), await confirmedOrder(k, at(0))];
    onShift(courier, at(0.5));

    const first = await eventually('the first offer', async () => offers.find((o) => orderIds.includes(o.order_id)));
    await someRounds();
    assert.deepEqual(
      offers.filter((o) => o.courier_id === courier.id).map((o) => o.offer_id),
      [first.offer_id],
      'no second offer while the first is open',
    );

    answer(first, false);
    const other = orderIds.find((id) => id !== first.order_id)!;
    const second = await nextOffer(other);
    assert.equal(second.courier_id, courier.id);
    await someRounds();
    assert.equal(offersOf(first.order_id).length, 1, 'the declined order is not offered to them again');
    answer(second, true);
    assert.equal((await closing(second)).outcome, 'assigned');
    offShift(courier);
  });

  it('when an admin assigns the order while an offer is open, the later acceptance is withdrawn and the admin’s courier stays', async () => {
    const { at } = area();
    const k = await kitchen(at(0));
    const courier = await createUser(ctx, 'courier');
    const chosen = await createUser(ctx, 'courier');
    const admin = await createUser(ctx, 'admin');
    const orderId = await confirmedOrder(k, at(0));
    onShift(courier, at(0.5));

    const offer = await nextOffer(orderId);
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/assign`, headers: admin.auth, payload: { courier_id: chosen.id } });
    assert.equal(res.statusCode, 200, res.body);
    answer(offer, true);
    assert.equal((await closing(offer)).outcome, 'withdrawn');
    assert.equal((await stored(orderId)).courier_id, chosen.id);
    const { rows } = await ctx.sql.query('SELECT actor_role FROM order_events WHERE order_id = $1 AND kind = $2', [orderId, 'courier_assigned']);
    assert.deepEqual(rows, [{ actor_role: 'admin' }]);
    offShift(courier);
  });

  it('an order nobody takes within DISPATCH_ALERT_AFTER_MS is counted overdue and logs one alert', async () => {
    const { at, zone } = area();
    const k = await kitchen(at(0));
    const orderId = await confirmedOrder(k, at(0));
    await eventually('the zone led, its order waiting', async () => (await metric('dabba_dispatch_waiting_orders', `zone="${zone}"`)) === 1);
    assert.equal(await metric('dabba_dispatch_overdue_orders', `zone="${zone}"`), 0);
    await eventually('the order overdue', async () => (await metric('dabba_dispatch_overdue_orders', `zone="${zone}"`)) === 1, ALERT_AFTER_MS + 10_000);
    await someRounds();
    const alerts = logStream.lines().filter((l) => l.alert === true && l.orderId === orderId);
    assert.equal(alerts.length, 1, 'one alert, not one per round');
    assert.equal(alerts[0]!.level, 40);
    assert.equal(alerts[0]!.zone, zone);
  });

  it('solves a batch optimally where nearest-first would not: 2 couriers × 2 orders', async () => {
    const { at } = area();
    // On one road: courier A at 0 km, B at 3 km; restaurant X at 0.9 km, Y at −1 km.
    const spots = { A: at(0), B: at(3), X: at(0.9), Y: at(-1) };
    const x = await kitchen(spots.X);
    const y = await kitchen(spots.Y);
    const [a, b] = [await createUser(ctx, 'courier'), await createUser(ctx, 'courier')];
    const orderX = await confirmedOrder(x, spots.X);
    const orderY = await confirmedOrder(y, spots.Y);

    // Nearest first takes A–X (0.9 km) and leaves B–Y (4 km): 4.9 km; the optimum is A–Y + B–X: 3.1 km.
    const km = (p: Point, q: Point) => distanceKm(p, q);
    assert.ok(km(spots.A, spots.X) < Math.min(km(spots.A, spots.Y), km(spots.B, spots.X), km(spots.B, spots.Y)));
    assert.ok(km(spots.A, spots.Y) + km(spots.B, spots.X) < km(spots.A, spots.X) + km(spots.B, spots.Y) - 1);

    // Both couriers appear at once, so both orders are in their first batch.
    onShift(a, spots.A);
    onShift(b, spots.B);
    const [offerX, offerY] = [await nextOffer(orderX), await nextOffer(orderY)];
    assert.equal(offerY.courier_id, a.id, 'A goes to Y');
    assert.equal(offerX.courier_id, b.id, 'B goes to X');
    answer(offerX, false);
    answer(offerY, false);
    offShift(a, b);
  });
});
