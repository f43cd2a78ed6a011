import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OrderStatus } from '../domain/order-status.ts';
import { LocalBus } from '../live/event-bus.ts';
import { CourierDirectory } from './courier-directory.ts';

const A = 'aaaaaaaa-0000-4000-8000-000000000001';
const B = 'bbbbbbbb-0000-4000-8000-000000000002';
const ORDER = 'cccccccc-0000-4000-8000-000000000003';
const settle = () => new Promise((r) => setImmediate(r));

/** A directory on a real in-process bus, starting from an empty database, with a clock the test moves. */
async function directory(loaded: { onShift?: { user_id: string; lat: number; lng: number }[]; assignments?: { id: string; courier_id: string }[] } = {}) {
  const bus = new LocalBus();
  let now = 1_000_000;
  const dir = new CourierDirectory({
    bus,
    couriers: {
      onShift: async () => (loaded.onShift ?? []).map((c) => ({ ...c, last_seen_at: new Date(now), shift_started_at: new Date(now) })),
      activeAssignments: async () => loaded.assignments ?? [],
    },
    staleAfterMs: 30_000,
    now: () => now,
  });
  await dir.start();
  return { bus, dir, advance: (ms: number) => (now += ms), now: () => now };
}

const moved = (status: OrderStatus, courier: string | null, version: number) => ({ order_id: ORDER, restaurant_id: ORDER, customer_id: ORDER, courier_id: courier, status, version });

describe('the courier directory', () => {
  it('knows couriers from the database and the bus, and forgets those going off shift', async () => {
    const { bus, dir, now } = await directory({ onShift: [{ user_id: A, lat: 19, lng: 72 }] });
    assert.deepEqual(dir.snapshot().map((c) => [c.id, c.state]), [[A, 'available']]);
    bus.publish('courier.shift', { courier_id: B, on_shift: true, lat: 19.1, lng: 72.1, at: now() });
    bus.publish('courier.position', { courier_id: A, lat: 19.01, lng: 72, at: now() + 1 });
    await settle();
    assert.deepEqual(dir.position(A), { lat: 19.01, lng: 72, at: now() + 1 });
    assert.equal(dir.available().length, 2);
    bus.publish('courier.shift', { courier_id: A, on_shift: false, lat: null, lng: null, at: now() });
    await settle();
    assert.deepEqual(dir.snapshot().map((c) => c.id), [B]);
  });

  it('an order holds its courier until it ends; idle time starts again then', async () => {
    const { bus, dir, advance } = await directory({ onShift: [{ user_id: A, lat: 19, lng: 72 }], assignments: [{ id: ORDER, courier_id: A }] });
    assert.equal(dir.snapshot()[0]?.state, 'busy');
    assert.deepEqual(dir.available(), []);
    bus.publish('order.moved', moved('picked_up', A, 5));
    await settle();
    assert.equal(dir.counts().busy, 1);
    advance(1_000);
    bus.publish('order.moved', moved('delivered', A, 6));
    await settle();
    const [free] = dir.available();
    assert.equal(free?.id, A);
    assert.equal(free?.idleSinceMs, 1_001_000);
    bus.publish('order.moved', moved('picked_up', A, 5));
    await settle();
    assert.equal(dir.snapshot()[0]?.state, 'available', 'late news of an earlier move changes nothing');
  });

  it('an open offer keeps a courier from other offers until it closes or expires', async () => {
    const { bus, dir, now, advance } = await directory({ onShift: [{ user_id: A, lat: 19, lng: 72 }] });
    const offer = {
      offer_id: 'o1', courier_id: A, order_id: ORDER, zone: 'z', expires_at: now() + 10_000,
      pickup: { restaurant_id: ORDER, name: 'x', lat: 19, lng: 72 }, dropoff: { lat: 19, lng: 72, address: 'y' }, pickup_km: 1, delivery_km: 1,
    };
    bus.publish('dispatch.offer', offer);
    await settle();
    assert.equal(dir.snapshot()[0]?.state, 'offered');
    bus.publish('dispatch.offer_closed', { offer_id: 'o1', courier_id: A, order_id: ORDER, outcome: 'declined' });
    await settle();
    assert.equal(dir.snapshot()[0]?.state, 'available');
    bus.publish('dispatch.offer', { ...offer, offer_id: 'o2' });
    await settle();
    advance(10_001);
    bus.publish('courier.position', { courier_id: A, lat: 19, lng: 72, at: now() });
    await settle();
    assert.equal(dir.snapshot()[0]?.state, 'available', 'an offer whose close was lost ends at its expiry');
  });

  it('a courier without a fix for the stale limit is stale and offered nothing', async () => {
    const { dir, advance } = await directory({ onShift: [{ user_id: A, lat: 19, lng: 72 }] });
    advance(30_001);
    assert.equal(dir.snapshot()[0]?.state, 'stale');
    assert.deepEqual(dir.available(), []);
    assert.deepEqual(dir.counts(), { available: 0, offered: 0, busy: 0, stale: 1 });
  });
});
