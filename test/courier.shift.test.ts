import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from '../src/app.ts';
import { offset } from '../src/domain/geo.ts';
import { LocalBus } from '../src/live/event-bus.ts';
import { listen } from './courier.helper.ts';
import { type Actor, CENTER, createRestaurant, createUser, eventually, partnerEnv, placeOrder, setup, testConfig } from './helper.ts';

// Timers off: positions are written when the test flushes, and silent couriers ended when it asks.
const bus = new LocalBus();
let positionWrites = 0;
const ctx = await setup({
  background: false,
  bus,
  onQuery: (_ms, sql) => void (/UPDATE couriers c SET lat/.test(sql) && positionWrites++),
  env: { COURIER_STALE_AFTER_MS: '1000', COURIER_OFF_SHIFT_AFTER_MS: '1000', COURIER_MIN_FIX_INTERVAL_MS: '1000' },
});
const { couriers, courierDirectory: directory } = ctx.app.services;

const shift = (who: Actor, payload: object) =>
  ctx.app.inject({ method: 'POST', url: '/v1/courier/shift', headers: who.auth, payload });
const locate = (who: Actor, payload: object) =>
  ctx.app.inject({ method: 'POST', url: '/v1/courier/location', headers: who.auth, payload });

async function row(courierId: string) {
  const { rows } = await ctx.sql.query(
    'SELECT vehicle, lat, lng, on_shift, shift_started_at, last_seen_at FROM couriers WHERE user_id = $1',
    [courierId],
  );
  return rows[0] as { vehicle: string; lat: number; lng: number; on_shift: boolean; shift_started_at: Date | null; last_seen_at: Date | null } | undefined;
}

async function onShiftCourier(at = CENTER) {
  const c = await createUser(ctx, 'courier');
  const res = await shift(c, { online: true, ...at });
  assert.equal(res.statusCode, 200, res.body);
  await eventually('the directory to list the courier', async () => directory.isOnShift(c.id));
  return c;
}

async function act(who: Actor, orderId: string, path: string, payload: object = {}) {
  const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/${path}`, headers: who.auth, payload });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
}

/** A confirmed order of a POS restaurant, assigned by an admin to `courier`; with `carried`, also picked up. */
async function assignedOrder(courier: Actor, opts: { carried?: boolean } = {}) {
  const owner = await createUser(ctx, 'restaurant');
  const restaurant = await createRestaurant(ctx, owner, { pos: true });
  const order = await placeOrder(ctx, await createUser(ctx, 'customer'), restaurant);
  if (opts.carried) for (const path of ['preparing', 'ready']) await act(owner, order.id, path);
  await act(await createUser(ctx, 'admin'), order.id, 'assign', { courier_id: courier.id });
  if (opts.carried) await act(courier, order.id, 'picked-up');
  return order.id;
}

async function orderRow(orderId: string) {
  const { rows } = await ctx.sql.query<{ status: string; courier_id: string | null }>('SELECT status, courier_id FROM orders WHERE id = $1', [orderId]);
  return rows[0]!;
}

const positionsCounted = async (outcome: string) =>
  (await ctx.app.metrics.courierPositions.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;

describe('courier shifts', () => {
  it('going on shift makes the row a courier account lacks, and off shift ends it', async () => {
    const c = await createUser(ctx, 'courier');
    await ctx.sql.query('DELETE FROM couriers WHERE user_id = $1', [c.id]);
    const shifts = listen(bus, 'courier.shift');

    const withoutPosition = await shift(c, { online: true });
    assert.equal(withoutPosition.statusCode, 422, 'a first shift needs a position');
    assert.equal(await row(c.id), undefined);

    const at = offset(CENTER, 30, 2);
    const on = await shift(c, { online: true, ...at });
    assert.equal(on.statusCode, 200, on.body);
    assert.equal(on.json().on_shift, true);
    assert.deepEqual(on.json().position, at);
    const created = await row(c.id);
    assert.equal(created?.on_shift, true);
    assert.equal(created?.vehicle, 'scooter');
    assert.deepEqual({ lat: created?.lat, lng: created?.lng }, at);
    assert.ok(created?.shift_started_at);
    await eventually('the shift news', async () => shifts.some((m) => m.courier_id === c.id && m.on_shift));
    assert.ok(directory.snapshot().some((s) => s.id === c.id && s.state === 'available'));

    const off = await shift(c, { online: false });
    assert.equal(off.statusCode, 200, off.body);
    assert.equal(off.json().on_shift, false);
    assert.equal((await row(c.id))?.on_shift, false);
    await eventually('the directory to drop the courier', async () => !directory.isOnShift(c.id));

    // Back on without a position: where they were last seen, which is not a fresh fix.
    const again = await shift(c, { online: true });
    assert.equal(again.statusCode, 200, again.body);
    assert.deepEqual(again.json().position, at);
    await shift(c, { online: false });
  });

  it('only couriers go on shift and report positions', async () => {
    const customer = await createUser(ctx, 'customer');
    for (const url of ['/v1/courier/shift', '/v1/courier/location', '/v1/courier/stream-ticket']) {
      const payload = url.endsWith('shift') ? { online: true, ...CENTER } : url.endsWith('location') ? CENTER : undefined;
      const asCustomer = await ctx.app.inject({ method: 'POST', url, headers: customer.auth, payload });
      assert.equal(asCustomer.statusCode, 403, `${url}: ${asCustomer.body}`);
      const anonymous = await ctx.app.inject({ method: 'POST', url, payload });
      assert.equal(anonymous.statusCode, 401, url);
    }
  });

  it('a position over HTTP is the caller\'s own, accepted on shift and refused off it', async () => {
    const off = await createUser(ctx, 'courier');
    const refused = await locate(off, CENTER);
    assert.equal(refused.statusCode, 409, refused.body);

    const me = await onShiftCourier();
    const other = await onShiftCourier();
    const moved = offset(CENTER, 90, 0.005);
    // A courier id in the body is not the caller's to choose: it is dropped, and the fix is the caller's.
    const res = await locate(me, { ...moved, courier_id: other.id });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().outcome, 'accepted');
    await eventually('the directory to move the courier', async () => directory.position(me.id)?.lng === moved.lng);
    const theirs = directory.position(other.id);
    assert.deepEqual({ lat: theirs?.lat, lng: theirs?.lng }, CENTER, 'the other courier did not move');
  });

  it('a fix faster than COURIER_MAX_SPEED_KMH from the last is a glitch: refused, and the courier stays put', async () => {
    const c = await onShiftCourier();
    const glitches = await positionsCounted('glitch');
    const far = offset(CENTER, 0, 50);
    const res = await locate(c, far);
    assert.equal(res.statusCode, 422, res.body);
    assert.match(res.json().type, /position-glitch$/);
    assert.match(res.json().detail, /km\/h/);
    assert.equal(await positionsCounted('glitch'), glitches + 1);
    assert.deepEqual({ lat: directory.position(c.id)?.lat, lng: directory.position(c.id)?.lng }, CENTER);

    const near = await locate(c, offset(CENTER, 0, 0.005));
    assert.equal(near.statusCode, 200, 'a plausible fix after the glitch is measured from the last good one');

    const invalid = await locate(c, { lat: 91, lng: 0 });
    assert.equal(invalid.statusCode, 400, 'out of range');
    const ancient = await locate(c, { ...CENTER, at: Date.now() - 3_600_000 });
    assert.equal(ancient.statusCode, 422, ancient.body);
  });

  it('fixes over the rate cap are coalesced: the latest is published when the interval passes, the rest never', async () => {
    const c = await onShiftCourier();
    const heard = listen(bus, 'courier.position');
    const mine = () => heard.filter((m) => m.courier_id === c.id);
    const points = [1, 2, 3, 4, 5].map((i) => offset(CENTER, 90, i * 0.004));
    const outcomes = [];
    for (const p of points) outcomes.push((await locate(c, p)).json().outcome);
    assert.deepEqual(outcomes, ['accepted', 'coalesced', 'coalesced', 'coalesced', 'coalesced']);
    await eventually('the latest fix to be published', async () => mine().length === 2);
    assert.deepEqual(mine().map((m) => ({ lat: m.lat, lng: m.lng })), [points[0], points[4]]);
    await sleep(1_500);
    assert.equal(mine().length, 2, 'nothing else was published');
  });

  it('positions are written in batches: one statement for every courier that moved since the last write', async () => {
    const group = [];
    for (let i = 0; i < 20; i++) group.push(await onShiftCourier());
    await couriers.flush();
    const heard = listen(bus, 'courier.position');
    positionWrites = 0;
    const latest = new Map<string, { lat: number; lng: number }>();
    for (const [i, c] of group.entries()) {
      for (let step = 1; step <= 3; step++) {
        const p = offset(CENTER, i * 18, step * 0.003);
        assert.equal((await locate(c, p)).statusCode, 200);
        latest.set(c.id, p);
      }
    }
    // Each courier's first fix at once, its third (the latest) when the rate cap's interval passed.
    const ids = new Set(group.map((c) => c.id));
    await eventually('every latest fix to be published', async () => heard.filter((m) => ids.has(m.courier_id)).length === 40);
    assert.equal(positionWrites, 0, 'nothing is written per fix');
    await couriers.flush();
    assert.equal(positionWrites, 1, '60 fixes of 20 couriers, one statement');
    for (const c of group) {
      const r = await row(c.id);
      assert.deepEqual({ lat: r?.lat, lng: r?.lng }, latest.get(c.id));
      assert.ok(r?.last_seen_at);
    }
  });

  it('a courier silent past COURIER_STALE_AFTER_MS is stale and offered nothing; past COURIER_OFF_SHIFT_AFTER_MS the check ends the shift', async () => {
    const silent = await onShiftCourier();
    assert.ok(directory.available().some((c) => c.id === silent.id));
    await sleep(1_300);
    assert.equal(directory.snapshot().find((c) => c.id === silent.id)?.state, 'stale');
    assert.ok(!directory.available().some((c) => c.id === silent.id));
    assert.equal(ctx.app.metrics.liveSources.couriers?.().stale !== undefined, true);

    const heard = listen(bus, 'courier.shift');
    const fresh = await onShiftCourier();
    const ended = await couriers.endSilentShifts();
    assert.ok(ended.includes(silent.id));
    assert.ok(!ended.includes(fresh.id), 'seen just now');
    assert.equal((await row(silent.id))?.on_shift, false);
    assert.equal((await row(fresh.id))?.on_shift, true);
    await eventually('every node to hear it', async () => heard.some((m) => m.courier_id === silent.id && !m.on_shift));
    assert.equal(directory.isOnShift(silent.id), false);
    assert.deepEqual(await couriers.endSilentShifts().then((ids) => ids.includes(silent.id)), false, 'once');
    await shift(fresh, { online: false });
  });

  it('a node with its timers on writes positions by itself, and ends silent couriers\' shifts by itself', async () => {
    const otherBus = new LocalBus();
    const heard = listen(otherBus, 'courier.shift');
    const env = { ...partnerEnv(ctx.sim), COURIER_OFF_SHIFT_AFTER_MS: '1000', COURIER_POSITION_FLUSH_MS: '200' };
    const node = await build(testConfig(ctx.url, env), { bus: otherBus });
    try {
      await node.ready();
      const c = await onShiftCourier();
      // This node did not hear the courier go on shift (another node's news): the database says so.
      const p = offset(CENTER, 180, 0.005);
      const res = await node.inject({ method: 'POST', url: '/v1/courier/location', headers: c.auth, payload: p });
      assert.equal(res.statusCode, 200, res.body);
      await eventually('the position to be written', async () => (await row(c.id))?.lat === p.lat);
      await eventually('the shift to end', async () => (await row(c.id))?.on_shift === false, 15_000);
      await eventually('the news', async () => heard.some((m) => m.courier_id === c.id && !m.on_shift));
    } finally {
      await node.close();
    }
  });

  it('off shift gives back the orders not yet picked up: dispatch may offer them again, and their watchers hear it', async () => {
    const c = await onShiftCourier();
    const held = await assignedOrder(c);
    const moves = listen(bus, 'order.moved');
    const off = await shift(c, { online: false });
    assert.equal(off.statusCode, 200, off.body);
    assert.deepEqual(await orderRow(held), { status: 'confirmed', courier_id: null });
    const { rows } = await ctx.sql.query(
      `SELECT courier_id, actor_role, reason FROM order_events WHERE order_id = $1 AND kind = 'courier_unassigned'`,
      [held],
    );
    assert.deepEqual(rows, [{ courier_id: c.id, actor_role: 'system', reason: 'courier_off_shift' }]);
    await eventually('the move on the bus', async () => moves.some((m) => m.order_id === held && m.courier_id === null));
    const { rows: waiting } = await ctx.sql.query('SELECT 1 FROM orders WHERE id = $1 AND courier_id IS NULL AND status = $2', [held, 'confirmed']);
    assert.equal(waiting.length, 1, 'waiting for a courier again, as dispatch reads it');
  });

  it('refuses to go off shift with food in the bag, naming the order, and changes nothing', async () => {
    const c = await onShiftCourier();
    const carried = await assignedOrder(c, { carried: true });
    const waiting = await assignedOrder(c);
    const refused = await shift(c, { online: false });
    assert.equal(refused.statusCode, 409, refused.body);
    assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(refused.json().orders, [carried]);
    assert.equal((await row(c.id))?.on_shift, true);
    assert.deepEqual(await orderRow(carried), { status: 'picked_up', courier_id: c.id });
    assert.deepEqual(await orderRow(waiting), { status: 'confirmed', courier_id: c.id });

    await act(c, carried, 'delivered');
    const off = await shift(c, { online: false });
    assert.equal(off.statusCode, 200, off.body);
    assert.deepEqual(await orderRow(waiting), { status: 'confirmed', courier_id: null });
  });
});
