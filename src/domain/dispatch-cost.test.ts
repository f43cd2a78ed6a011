import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildCostMatrix,
  COURIER_WAIT_WEIGHT,
  type DispatchCourier,
  type DispatchOrder,
  FOOD_WAIT_WEIGHT,
  FORBIDDEN,
  IDLE_BONUS_MAX_S,
  ORDER_WAIT_BONUS_MAX_S,
  totalCost,
} from './dispatch-cost.ts';
import { distanceKm, offset } from './geo.ts';

const CENTER = { lat: 19.076, lng: 72.8777 };
const NOW = Date.UTC(2026, 0, 1, 12);
const OPTS = { speedKmh: 20, maxPickupKm: 5, nowMs: NOW };
// Both bonuses at zero: the cost of a fresh courier for a fresh order carries both caps.
const FRESH = IDLE_BONUS_MAX_S + ORDER_WAIT_BONUS_MAX_S;

const courierAt = (km: number, idleForS = 0, id = 'c'): DispatchCourier => ({ id, ...offset(CENTER, 90, km), idleSinceMs: NOW - idleForS * 1000 });
const order = (readyInS: number, waitingForS = 0, id = 'o'): DispatchOrder => ({
  id,
  restaurant: CENTER,
  readyAtMs: NOW + readyInS * 1000,
  waitingSinceMs: NOW - waitingForS * 1000,
});
const cost = (c: DispatchCourier, o: DispatchOrder, opts = OPTS) => buildCostMatrix([c], [o], opts).costs[0]!;

describe('the dispatch cost model', () => {
  it('is the travel time in seconds at the configured speed when the courier arrives as the food is ready', () => {
    // 2 km at 20 km/h: 360 s.
    assert.ok(Math.abs(cost(courierAt(2), order(360)) - (360 + FRESH)) < 1e-6);
    assert.ok(Math.abs(cost(courierAt(2), order(360), { ...OPTS, speedKmh: 40 }) - (180 + FRESH + COURIER_WAIT_WEIGHT * 180)) < 1e-6);
  });

  it('charges food waiting for a late courier more than a courier waiting for the food', () => {
    const onTime = cost(courierAt(2), order(360));
    const early = cost(courierAt(2), order(420));
    const late = cost(courierAt(2), order(300));
    assert.ok(Math.abs(early - onTime - COURIER_WAIT_WEIGHT * 60) < 1e-6);
    assert.ok(Math.abs(late - onTime - FOOD_WAIT_WEIGHT * 60) < 1e-6);
    assert.ok(late > early);
  });

  it('counts lateness from now for food already waiting, so an order already late is not pushed back', () => {
    assert.equal(cost(courierAt(2), order(-600)), cost(courierAt(2), order(0)));
  });

  it('prefers a courier idle longer, up to a cap', () => {
    const fresh = cost(courierAt(1), order(0));
    const idle5min = cost(courierAt(1, 300), order(0));
    const idle10min = cost(courierAt(1, 600), order(0));
    const idle1h = cost(courierAt(1, 3600), order(0));
    assert.ok(idle5min < fresh && idle10min < idle5min);
    assert.equal(idle1h, idle10min);
    assert.ok(Math.abs(fresh - idle10min - IDLE_BONUS_MAX_S) < 1e-6);
  });

  it('prefers an order waiting longer, up to a cap', () => {
    const fresh = cost(courierAt(1), order(0));
    const waited10min = cost(courierAt(1), order(0, 600));
    assert.ok(Math.abs(fresh - waited10min - ORDER_WAIT_BONUS_MAX_S) < 1e-6);
    assert.equal(cost(courierAt(1), order(0, 7200)), waited10min);
  });

  it('forbids a pickup beyond the radius, and a corrupt position', () => {
    assert.equal(cost(courierAt(5.5), order(0)), FORBIDDEN);
    assert.ok(Number.isFinite(cost(courierAt(4.9), order(0))));
    assert.equal(cost({ id: 'c', lat: Number.NaN, lng: 72.8, idleSinceMs: NOW }, order(0)), FORBIDDEN);
  });

  it('lays the matrix out row-major, couriers by orders', () => {
    const couriers = [courierAt(0.5, 0, 'a'), courierAt(1.5, 0, 'b')];
    const orders = [0, 1, 2].map((i) => ({ ...order(0, 0, `o${i}`), restaurant: offset(CENTER, 270, i) }));
    const m = buildCostMatrix(couriers, orders, OPTS);
    assert.equal(m.rows, 2);
    assert.equal(m.cols, 3);
    assert.equal(m.costs.length, 6);
    for (const [r, c] of [[0, 0], [0, 2], [1, 1], [1, 2]] as const) {
      assert.equal(m.costs[r * 3 + c], cost(couriers[r]!, orders[c]!), `${r},${c}`);
    }
    assert.deepEqual(buildCostMatrix([], orders, OPTS), { rows: 0, cols: 3, costs: new Float64Array(0) });
    assert.equal(buildCostMatrix(couriers, [], OPTS).costs.length, 0);
  });

  it('is never negative and forbids exactly the pairs beyond the radius, whatever the times', () => {
    const point = fc.record({ lat: fc.double({ min: 18.9, max: 19.3, noNaN: true }), lng: fc.double({ min: 72.7, max: 73.1, noNaN: true }) });
    const atMs = fc.integer({ min: NOW - 7_200_000, max: NOW + 7_200_000 });
    const courier = fc.record({ id: fc.constant('c'), lat: fc.double({ min: 18.9, max: 19.3, noNaN: true }), lng: fc.double({ min: 72.7, max: 73.1, noNaN: true }), idleSinceMs: atMs });
    const anOrder = fc.record({ id: fc.constant('o'), restaurant: point, readyAtMs: atMs, waitingSinceMs: atMs });
    fc.assert(
      fc.property(fc.array(courier, { maxLength: 6 }), fc.array(anOrder, { maxLength: 6 }), fc.double({ min: 1, max: 60, noNaN: true }), (cs, os, speedKmh) => {
        const m = buildCostMatrix(cs, os, { speedKmh, maxPickupKm: 8, nowMs: NOW });
        for (const [r, c] of cs.entries()) {
          for (const [j, o] of os.entries()) {
            const v = m.costs[r * os.length + j]!;
            assert.equal(v === FORBIDDEN, distanceKm(c, o.restaurant) > 8);
            assert.ok(v >= 0);
          }
        }
      }),
      { seed: 1212, numRuns: 500 },
    );
  });

  it('refuses a speed that is not positive', () => {
    assert.throws(() => buildCostMatrix([], [], { ...OPTS, speedKmh: 0 }), RangeError);
  });
});

describe('the total cost of an assignment', () => {
  const m = { rows: 3, cols: 2, costs: Float64Array.of(1, 2, 3, FORBIDDEN, 5, 6) };

  it('sums the assigned pairs and skips couriers given nothing', () => {
    assert.equal(totalCost(m, Int32Array.of(1, 0, -1)), 5);
    assert.equal(totalCost(m, Int32Array.of(-1, -1, -1)), 0);
    assert.equal(totalCost(m, Int32Array.of(-1, 1, 0)), FORBIDDEN);
  });

  it('refuses what is not an assignment', () => {
    assert.throws(() => totalCost(m, Int32Array.of(0, 0, -1)), /twice/);
    assert.throws(() => totalCost(m, Int32Array.of(0, 2, -1)), /no order/);
    assert.throws(() => totalCost(m, Int32Array.of(0, 1)), /expected 3/);
  });
});
