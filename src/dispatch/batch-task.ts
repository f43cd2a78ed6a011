import { performance } from 'node:perf_hooks';
import { buildCostMatrix, type CostMatrix, type CostOptions, type CourierAt, FORBIDDEN, type OrderAt } from '../domain/dispatch-cost.ts';
import { type Assignment, solveAssignment } from './assignment.ts';

/** One zone's batch, as the dispatcher hands it to the solver pool. */
export interface ZoneBatch {
  couriers: readonly CourierAt[];
  orders: readonly OrderAt[];
  opts: CostOptions;
  /** [courier index, order index] pairs never to be given: the courier declined the order or let its offer expire. */
  refused: readonly (readonly [number, number])[];
}

/**
 * A batch as a pool thread receives it: its numbers only, in typed arrays moved to the thread rather
 * than copied. For 1,000 couriers × 500 orders, packing and posting these take about 0.03 ms of the
 * main loop; posting the objects themselves (a structured clone) about 0.3 ms, growing with the zone.
 */
export interface BatchTask {
  /** Each courier's lat, lng and idleSinceMs. */
  couriers: Float64Array<ArrayBuffer>;
  /** Each order's restaurant lat and lng, then its readyAtMs and waitingSinceMs. */
  orders: Float64Array<ArrayBuffer>;
  /** The refused pairs, each a courier index then an order index. */
  refused: Int32Array<ArrayBuffer>;
  opts: CostOptions;
}

export interface BatchAssignment extends Assignment {
  /** The thread's time building the cost matrix, refusals included. */
  buildMs: number;
  /** The thread's time solving it. */
  solveMs: number;
}

const COURIER_FIELDS = 3;
const ORDER_FIELDS = 4;

export function packBatch(b: ZoneBatch): BatchTask {
  const couriers = new Float64Array(b.couriers.length * COURIER_FIELDS);
  for (let i = 0, at = 0; i < b.couriers.length; i++, at += COURIER_FIELDS) {
    const c = b.couriers[i]!;
    couriers[at] = c.lat;
    couriers[at + 1] = c.lng;
    couriers[at + 2] = c.idleSinceMs;
  }
  const orders = new Float64Array(b.orders.length * ORDER_FIELDS);
  for (let i = 0, at = 0; i < b.orders.length; i++, at += ORDER_FIELDS) {
    const o = b.orders[i]!;
    orders[at] = o.restaurant.lat;
    orders[at + 1] = o.restaurant.lng;
    orders[at + 2] = o.readyAtMs;
    orders[at + 3] = o.waitingSinceMs;
  }
  const refused = new Int32Array(b.refused.length * 2);
  for (let i = 0; i < b.refused.length; i++) {
    const [r, c] = b.refused[i]!;
    refused[2 * i] = r;
    refused[2 * i + 1] = c;
  }
  return { couriers, orders, refused, opts: b.opts };
}

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
