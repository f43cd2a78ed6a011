import type { CostOptions, CourierAt, OrderAt } from '../domain/dispatch-cost.ts';
import type { Assignment } from './assignment.ts';

// Apart from batch-solve.ts so that the main thread, which only packs batches, never loads the solver
// library (linear-sum-assignment and its matrix libraries: ~19 MB of resident memory).

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

export const COURIER_FIELDS = 3;
export const ORDER_FIELDS = 4;

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
