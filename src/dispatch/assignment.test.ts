import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type CostMatrix, FORBIDDEN, isForbidden, totalCost } from '../domain/dispatch-cost.ts';
import { solveAssignment } from './assignment.ts';

const F = FORBIDDEN;
const matrix = (rows: number[][]): CostMatrix => ({ rows: rows.length, cols: rows[0]?.length ?? 0, costs: Float64Array.from(rows.flat()) });

/** Every partial assignment: the most pairs the allowed ones permit, and of those the least total cost. */
function bruteForce(m: CostMatrix): { pairs: number; cost: number } {
  let best = { pairs: 0, cost: 0 };
  const used = new Uint8Array(m.cols);
  const visit = (r: number, pairs: number, cost: number) => {
    if (r === m.rows) {
      if (pairs > best.pairs || (pairs === best.pairs && cost < best.cost)) best = { pairs, cost };
      return;
    }
    visit(r + 1, pairs, cost);
    for (let c = 0; c < m.cols; c++) {
      const v = m.costs[r * m.cols + c]!;
      if (used[c] || isForbidden(v)) continue;
      used[c] = 1;
      visit(r + 1, pairs + 1, cost + v);
      used[c] = 0;
    }
  };
  visit(0, 0, 0);
  return best;
}

function assertOptimal(m: CostMatrix) {
  const { courierToOrder, cost } = solveAssignment(m);
  assert.equal(courierToOrder.length, m.rows);
  // totalCost refuses an order given twice or out of range, and is FORBIDDEN if a forbidden pair is used.
  const total = totalCost(m, courierToOrder);
  assert.ok(Number.isFinite(total), 'no forbidden pair is assigned');
  assert.ok(Math.abs(total - cost) < 1e-6, `reported ${cost}, assignment costs ${total}`);
  const best = bruteForce(m);
  assert.equal(courierToOrder.filter((c) => c >= 0).length, best.pairs, 'as many pairs as the allowed ones permit');
  assert.ok(Math.abs(cost - best.cost) < 1e-6, `solver ${cost}, brute force ${best.cost}`);
}

// Costs drawn from a wide range or from a few small integers (many ties); a share of the pairs, from none to
// most, forbidden: dense forbidden pairs are where serving the most pairs takes a detour.
const entry = fc.oneof({ weight: 5, arbitrary: fc.double({ min: 0, max: 5_000, noNaN: true }) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }) });
const costMatrix = (rows: fc.Arbitrary<number>, cols: fc.Arbitrary<number>) =>
  fc.tuple(rows, cols, fc.constantFrom(0, 0.2, 0.5, 0.8)).chain(([r, c, forbidden]) =>
    fc.record({
      rows: fc.constant(r),
      cols: fc.constant(c),
      costs: fc
        .array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), entry), { minLength: r * c, maxLength: r * c })
        .map((a) => Float64Array.from(a, ([u, v]) => (u < forbidden ? F : v))),
    }),
  );
const size = (min: number, max: number) => fc.integer({ min, max });

describe('the optimal assignment, against brute force', () => {
  it('any shape up to 6×6', () => {
    fc.assert(fc.property(costMatrix(size(0, 6), size(0, 6)), assertOptimal), { seed: 4242, numRuns: 300 });
  });

  it('more couriers than orders', () => {
    fc.assert(fc.property(costMatrix(size(4, 8), size(1, 3)), assertOptimal), { seed: 77, numRuns: 150 });
  });

  it('more orders than couriers', () => {
    fc.assert(fc.property(costMatrix(size(1, 3), size(4, 8)), assertOptimal), { seed: 78, numRuns: 150 });
  });

  it('whole rows and columns forbidden', () => {
    const withDeadLines = costMatrix(size(1, 6), size(1, 6)).chain((m) =>
      fc.tuple(fc.subarray([...Array(m.rows).keys()]), fc.subarray([...Array(m.cols).keys()])).map(([deadRows, deadCols]) => {
        const costs = m.costs.slice();
        for (const r of deadRows) costs.fill(F, r * m.cols, (r + 1) * m.cols);
        for (const c of deadCols) for (let r = 0; r < m.rows; r++) costs[r * m.cols + c] = F;
        return { ...m, costs };
      }),
    );
    fc.assert(fc.property(withDeadLines, assertOptimal), { seed: 79, numRuns: 150 });
  });
});

describe('the optimal assignment, by example', () => {
  it('is not greedy', () => {
    const { courierToOrder, cost } = solveAssignment(matrix([[1, 2], [2, 100]]));
    assert.deepEqual([...courierToOrder], [1, 0]);
    assert.equal(cost, 4);
  });

  it('serves as many pairs as it can before it saves cost', () => {
    const { courierToOrder, cost } = solveAssignment(matrix([[0, 10], [10, F]]));
    assert.deepEqual([...courierToOrder], [1, 0]);
    assert.equal(cost, 20);
  });

  it('serves one more pair even when that takes a chain of dearer swaps', () => {
    const { courierToOrder, cost } = solveAssignment(matrix([[0, 10, F], [F, 0, 10], [10, F, F]]));
    assert.deepEqual([...courierToOrder], [1, 2, 0]);
    assert.equal(cost, 30);
  });

  it('gives a courier with no allowed order nothing', () => {
    const { courierToOrder } = solveAssignment(matrix([[F, F, F], [4, 1, F], [F, F, F]]));
    assert.deepEqual([...courierToOrder], [-1, 1, -1]);
  });

  it('assigns nothing when every pair is forbidden', () => {
    assert.deepEqual(solveAssignment(matrix([[F, F], [F, F]])), { courierToOrder: Int32Array.of(-1, -1), cost: 0 });
  });

  it('handles no couriers and no orders', () => {
    assert.deepEqual(solveAssignment({ rows: 0, cols: 4, costs: new Float64Array(0) }), { courierToOrder: new Int32Array(0), cost: 0 });
    assert.deepEqual(solveAssignment({ rows: 3, cols: 0, costs: new Float64Array(0) }), { courierToOrder: Int32Array.of(-1, -1, -1), cost: 0 });
  });

  it('breaks a full tie with a complete assignment', () => {
    const { courierToOrder, cost } = solveAssignment({ rows: 5, cols: 5, costs: new Float64Array(25).fill(7) });
    assert.deepEqual([...courierToOrder].sort(), [0, 1, 2, 3, 4]);
    assert.equal(cost, 35);
  });

  it('refuses costs that do not fill the matrix', () => {
    assert.throws(() => solveAssignment({ rows: 2, cols: 2, costs: new Float64Array(3) }), RangeError);
  });
});
