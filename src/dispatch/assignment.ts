import { linearSumAssignment } from 'linear-sum-assignment';
import { type CostMatrix, isForbidden } from '../domain/dispatch-cost.ts';

export interface Assignment {
  /** For each courier (row), the order (column) it is given; −1: none. */
  courierToOrder: Int32Array;
  cost: number;
}

/**
 * The optimal rectangular assignment: as many couriers given orders as the allowed pairs permit, and of
 * those assignments the one of least total cost. Forbidden pairs are never given.
 *
 * `linear-sum-assignment` is Jonker–Volgenant's shortest augmenting path in Crouse's rectangular form
 * (@see https://doi.org/10.1109/TAES.2016.140952), like SciPy's. It stops at the first side it cannot
 * complete, so it is given finite costs only: rows and columns with no allowed pair are left out, and the
 * remaining forbidden pairs cost `big`, more than any assignment of allowed pairs can save, so an optimum
 * uses as few of them as it can; they are then dropped.
 */
export function solveAssignment(m: CostMatrix): Assignment {
  if (m.costs.length !== m.rows * m.cols) throw new RangeError(`a ${m.rows}×${m.cols} matrix needs ${m.rows * m.cols} costs, got ${m.costs.length}`);
  const courierToOrder = new Int32Array(m.rows).fill(-1);
  const colAllowed = new Uint8Array(m.cols);
  const liveRows: number[] = [];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < m.rows; r++) {
    let any = false;
    for (let c = 0; c < m.cols; c++) {
      const v = m.costs[r * m.cols + c]!;
      if (isForbidden(v)) continue;
      any = true;
      colAllowed[c] = 1;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (any) liveRows.push(r);
  }
  const liveCols: number[] = [];
  for (let c = 0; c < m.cols; c++) if (colAllowed[c]) liveCols.push(c);
  if (liveRows.length === 0) return { courierToOrder, cost: 0 };

  // With k pairs in every full assignment, one more BIG pair costs more than the rest can ever save.
  const k = Math.min(liveRows.length, liveCols.length);
  const big = max + (max - min + 1) * (k + 1);
  const input = liveRows.map((r) =>
    Float64Array.from(liveCols, (c) => {
      const v = m.costs[r * m.cols + c]!;
      return isForbidden(v) ? big : v;
    }),
  );
  // The package maximises unless told otherwise (the option's name is its own spelling).
  const { rowAssignments } = linearSumAssignment(input, { maximaze: false });

  let cost = 0;
  for (const [i, r] of liveRows.entries()) {
    const j = rowAssignments[i]!;
    if (j < 0) continue;
    const c = liveCols[j]!;
    const v = m.costs[r * m.cols + c]!;
    if (isForbidden(v)) continue;
    courierToOrder[r] = c;
    cost += v;
  }
  return { courierToOrder, cost };
}
