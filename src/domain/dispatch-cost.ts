import { distanceKm, type Point } from './geo.ts';

export interface DispatchCourier {
  id: string;
  lat: number;
  lng: number;
  idleSinceMs: number;
}

export interface DispatchOrder {
  id: string;
  restaurant: Point;
  readyAtMs: number;
  waitingSinceMs: number;
}

/** What the cost of a pair depends on: no ids, so a batch can travel to a pool thread as numbers alone. */
export type CourierAt = Omit<DispatchCourier, 'id'>;
export type OrderAt = Omit<DispatchOrder, 'id'>;

/** Seconds of cost for each courier (row) against each order (column), row-major. */
export interface CostMatrix {
  rows: number;
  cols: number;
  costs: Float64Array;
}

/** A pair the solver must never assign: the restaurant is beyond the pickup radius. */
export const FORBIDDEN = Number.POSITIVE_INFINITY;

export const isForbidden = (cost: number) => !Number.isFinite(cost);

/**
 * The weights, in seconds of cost per second of the thing weighed.
 *
 * Lateness weighs most: food waiting for a late courier cools while its customer waits past the promise,
 * and both are the product; a courier early at the counter only loses capacity it would otherwise spend
 * idle somewhere else, so it weighs half a second of travel.
 */
export const FOOD_WAIT_WEIGHT = 2;
export const COURIER_WAIT_WEIGHT = 0.5;

/**
 * The bonuses are capped so they reorder close calls and never send a courier across the city. A bonus
 * constant along a courier's row (or an order's column) only decides which couriers (orders) are served
 * when they outnumber the other side: every optimal assignment serves as many pairs as it can, so a row's
 * constant shifts every assignment that uses that row alike.
 *
 * Fairness: a courier idle 10 minutes is preferred over a fresh one up to 2 minutes nearer.
 * Age: an order waiting 10 minutes goes before a fresh one that would cost up to 5 minutes less.
 */
export const IDLE_BONUS_PER_S = 0.2;
export const IDLE_BONUS_MAX_S = 120;
export const ORDER_WAIT_BONUS_PER_S = 0.5;
export const ORDER_WAIT_BONUS_MAX_S = 300;

export interface CostOptions {
  speedKmh: number;
  maxPickupKm: number;
  nowMs: number;
}

const bonus = (sinceMs: number, nowMs: number, perS: number, maxS: number) =>
  Math.min(maxS, (Math.max(0, nowMs - sinceMs) / 1000) * perS);

/**
 * The cost of sending each courier to each order's restaurant: travel time, plus the weighted mismatch
 * between arrival and ready time, minus the capped bonuses. Lateness counts from the ready time or from
 * now, whichever is later: time an order's food has already waited is sunk, the same for every courier,
 * and counting it would push the orders already late to the back of the queue.
 *
 * Each bonus is subtracted from its cap rather than from the cost: the same as subtracting it and adding
 * one constant to every pair, which changes no assignment and keeps every cost ≥ 0.
 */
export function buildCostMatrix(couriers: readonly CourierAt[], orders: readonly OrderAt[], opts: CostOptions): CostMatrix {
  if (!(opts.speedKmh > 0)) throw new RangeError(`speedKmh must be positive (got ${opts.speedKmh})`);
  const { nowMs, maxPickupKm } = opts;
  const secondsPerKm = 3600 / opts.speedKmh;
  const rows = couriers.length;
  const cols = orders.length;
  const costs = new Float64Array(rows * cols);
  const orderTerm = Float64Array.from(
    orders,
    (o) => ORDER_WAIT_BONUS_MAX_S - bonus(o.waitingSinceMs, nowMs, ORDER_WAIT_BONUS_PER_S, ORDER_WAIT_BONUS_MAX_S),
  );
  // Seconds from now until the food is ready; 0 when it already is.
  const readyInS = Float64Array.from(orders, (o) => Math.max(0, (o.readyAtMs - nowMs) / 1000));
  const restaurants = orders.map((o) => o.restaurant);
  for (let r = 0; r < rows; r++) {
    const courier = couriers[r]!;
    const courierTerm = IDLE_BONUS_MAX_S - bonus(courier.idleSinceMs, nowMs, IDLE_BONUS_PER_S, IDLE_BONUS_MAX_S);
    const base = r * cols;
    for (let c = 0; c < cols; c++) {
      const km = distanceKm(courier, restaurants[c]!);
      // Written so a NaN distance (a corrupt position) is forbidden too.
      if (!(km <= maxPickupKm)) {
        costs[base + c] = FORBIDDEN;
        continue;
      }
      const travelS = km * secondsPerKm;
      // Seconds the courier waits at the counter; negative: seconds the food waits for the courier.
      const early = readyInS[c]! - travelS;
      const mismatch = early < 0 ? -FOOD_WAIT_WEIGHT * early : COURIER_WAIT_WEIGHT * early;
      costs[base + c] = travelS + mismatch + courierTerm + orderTerm[c]!;
    }
  }
  return { rows, cols, costs };
}

/**
 * The summed cost of an assignment (−1: the courier gets nothing); FORBIDDEN if it uses a forbidden pair.
 * Throws on an assignment that is not one: a wrong length, an order out of range or given twice.
 */
export function totalCost(m: CostMatrix, courierToOrder: ArrayLike<number>): number {
  if (courierToOrder.length !== m.rows) throw new RangeError(`expected ${m.rows} couriers, got ${courierToOrder.length}`);
  const taken = new Uint8Array(m.cols);
  let sum = 0;
  for (let r = 0; r < m.rows; r++) {
    const c = courierToOrder[r]!;
    if (c === -1) continue;
    if (!Number.isInteger(c) || c < 0 || c >= m.cols) throw new RangeError(`courier ${r}: no order ${c}`);
    if (taken[c]) throw new RangeError(`order ${c} is assigned twice`);
    taken[c] = 1;
    sum += m.costs[r * m.cols + c]!;
  }
  return sum;
}
