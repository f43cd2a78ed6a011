import { performance } from 'node:perf_hooks';
import { buildCostMatrix, type CostMatrix, type CourierAt, FORBIDDEN, type OrderAt } from '../domain/dispatch-cost.ts';
import { solveAssignment } from './assignment.ts';
import { type BatchAssignment, type BatchTask, COURIER_FIELDS, ORDER_FIELDS } from './batch-task.ts';

/**
 * Builds the batch's cost matrix, forbids its refused pairs and solves it. No pair it returns is
 * forbidden: `solveAssignment` never gives one, so a refused courier is never given that order.
 */
export function assignBatch(task: BatchTask): BatchAssignment {
  const started = performance.now();
  const m = buildCostMatrix(couriersOf(task.couriers), ordersOf(task.orders), task.opts);
  forbid(m, task.refused);
  const built = performance.now();
  const answer = solveAssignment(m);
  return { ...answer, buildMs: built - started, solveMs: performance.now() - built };
}

function couriersOf(packed: Float64Array): CourierAt[] {
  if (packed.length % COURIER_FIELDS !== 0) throw new RangeError(`${packed.length} numbers are not whole couriers`);
  return Array.from({ length: packed.length / COURIER_FIELDS }, (_, i) => {
    const at = i * COURIER_FIELDS;
    return { lat: packed[at]!, lng: packed[at + 1]!, idleSinceMs: packed[at + 2]! };
  });
}

function ordersOf(packed: Float64Array): OrderAt[] {
  if (packed.length % ORDER_FIELDS !== 0) throw new RangeError(`${packed.length} numbers are not whole orders`);
  return Array.from({ length: packed.length / ORDER_FIELDS }, (_, i) => {
    const at = i * ORDER_FIELDS;
    return { restaurant: { lat: packed[at]!, lng: packed[at + 1]! }, readyAtMs: packed[at + 2]!, waitingSinceMs: packed[at + 3]! };
  });
}

/** A pair outside the batch would mark some other pair, so it is refused loudly instead. */
function forbid(m: CostMatrix, refused: Int32Array) {
  if (refused.length % 2 !== 0) throw new RangeError('a refused pair is missing its order');
  for (let i = 0; i < refused.length; i += 2) {
    const r = refused[i]!;
    const c = refused[i + 1]!;
    if (r < 0 || r >= m.rows || c < 0 || c >= m.cols) throw new RangeError(`refused pair (${r}, ${c}) is outside the ${m.rows}×${m.cols} batch`);
    m.costs[r * m.cols + c] = FORBIDDEN;
  }
}
