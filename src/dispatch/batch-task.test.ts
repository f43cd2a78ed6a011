import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { buildCostMatrix, FORBIDDEN, isForbidden, totalCost } from '../domain/dispatch-cost.ts';
import { solveAssignment } from './assignment.ts';
import { assignBatch } from './batch-solve.ts';
import { packBatch, type ZoneBatch } from './batch-task.ts';

const CENTER = { lat: 19.076, lng: 72.8777 };
const NOW = Date.UTC(2026, 0, 1, 12);

// Within about 4 km of the centre, with a pickup radius from 1 to 6 km: from most pairs forbidden to none.
const near = fc.record({ lat: fc.double({ min: CENTER.lat - 0.035, max: CENTER.lat + 0.035, noNaN: true }), lng: fc.double({ min: CENTER.lng - 0.035, max: CENTER.lng + 0.035, noNaN: true }) });
const minutes = (from: number, to: number) => fc.integer({ min: NOW + from * 60_000, max: NOW + to * 60_000 });
const courier = fc.record({ id: fc.uuid(), lat: near.map((p) => p.lat), lng: near.map((p) => p.lng), idleSinceMs: minutes(-20, 0) });
const order = fc.record({ id: fc.uuid(), restaurant: near, readyAtMs: minutes(-5, 20), waitingSinceMs: minutes(-15, 0) });
const zoneBatch: fc.Arbitrary<ZoneBatch> = fc
  .record({ couriers: fc.array(courier, { maxLength: 7 }), orders: fc.array(order, { maxLength: 7 }), maxPickupKm: fc.double({ min: 1, max: 6, noNaN: true }) })
  .chain(({ couriers, orders, maxPickupKm }) =>
    fc.record({
      couriers: fc.constant(couriers),
      orders: fc.constant(orders),
      opts: fc.constant({ speedKmh: 20, maxPickupKm, nowMs: NOW }),
      refused:
        couriers.length === 0 || orders.length === 0
          ? fc.constant([])
          : fc.array(fc.tuple(fc.nat(couriers.length - 1), fc.nat(orders.length - 1)), { maxLength: couriers.length * orders.length }),
    }),
  );

describe('a batch on a pool thread', () => {
  it('is assigned as building its matrix, forbidding its refused pairs and solving it inline is, and never given a refused pair', () => {
    fc.assert(
      fc.property(zoneBatch, (b) => {
        const m = buildCostMatrix(b.couriers, b.orders, b.opts);
        for (const [r, c] of b.refused) m.costs[r * m.cols + c] = FORBIDDEN;
        const expected = solveAssignment(m);

        const answer = assignBatch(packBatch(b));
        assert.deepEqual([...answer.courierToOrder], [...expected.courierToOrder]);
        assert.ok(Math.abs(answer.cost - expected.cost) < 1e-6);
        assert.ok(!isForbidden(totalCost(m, answer.courierToOrder)), 'no forbidden pair is given');
        for (const [r, c] of b.refused) assert.notEqual(answer.courierToOrder[r], c, `courier ${r} refused order ${c}`);
        assert.ok(answer.buildMs >= 0 && answer.solveMs >= 0);
      }),
      { numRuns: 300 },
    );
  });

  it('carries the numbers the cost needs and nothing else', () => {
    const b: ZoneBatch = {
      couriers: [{ lat: 19.1, lng: 72.9, idleSinceMs: 5 }],
      orders: [{ restaurant: { lat: 19.1, lng: 72.91 }, readyAtMs: 7, waitingSinceMs: 3 }],
      opts: { speedKmh: 20, maxPickupKm: 10, nowMs: NOW },
      refused: [[0, 0]],
    };
    const task = packBatch(b);
    assert.deepEqual([...task.couriers], [19.1, 72.9, 5]);
    assert.deepEqual([...task.orders], [19.1, 72.91, 7, 3]);
    assert.deepEqual([...task.refused], [0, 0]);
    // A kilometre apart: the pair would be given, were it not refused.
    assert.deepEqual([...assignBatch(task).courierToOrder], [-1]);
    assert.deepEqual([...assignBatch(packBatch({ ...b, refused: [] })).courierToOrder], [0]);
  });

  it('refuses a refused pair outside the batch rather than forbid some other pair', () => {
    const b: ZoneBatch = {
      couriers: [{ lat: CENTER.lat, lng: CENTER.lng, idleSinceMs: NOW }],
      orders: [{ restaurant: CENTER, readyAtMs: NOW, waitingSinceMs: NOW }],
      opts: { speedKmh: 20, maxPickupKm: 10, nowMs: NOW },
      refused: [],
    };
    assert.deepEqual([...assignBatch(packBatch(b)).courierToOrder], [0]);
    for (const pair of [[0, 1], [1, 0], [-1, 0]] as [number, number][]) {
      assert.throws(() => assignBatch(packBatch({ ...b, refused: [pair] })), /outside the 1×1 batch/);
    }
  });
});
