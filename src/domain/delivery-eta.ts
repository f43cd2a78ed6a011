import { type Point, distanceKm } from './geo.ts';
import type { OrderStatus } from './order-status.ts';

export interface EtaInput {
  status: OrderStatus;
  courier: Point;
  restaurant: Point;
  delivery: Point;
  /** The speed couriers are estimated to ride at (DISPATCH_SPEED_KMH). */
  speedKmh: number;
  /** The restaurant's preparation time for an order. */
  prepMinutes: number;
  /** When the kitchen started on the order (epoch ms); null while it has not. */
  preparingSince: number | null;
  now: number;
}

/** Statuses in which the food is still to be fetched from the restaurant. */
const BEFORE_PICKUP = new Set<OrderStatus>(['placed', 'confirmed', 'preparing', 'ready']);

/** Minutes of preparation left: all of it before the kitchen starts, none once the food is ready. */
export function preparationLeftMinutes(i: Pick<EtaInput, 'status' | 'prepMinutes' | 'preparingSince' | 'now'>): number {
  if (i.status === 'placed' || i.status === 'confirmed') return i.prepMinutes;
  if (i.status !== 'preparing') return 0;
  const elapsed = i.preparingSince === null ? 0 : Math.max(0, i.now - i.preparingSince) / 60_000;
  return Math.max(0, i.prepMinutes - elapsed);
}

/**
 * Whole minutes (rounded up) until the courier hands the food over: before pickup, the ride to the
 * restaurant or the food's remaining preparation, whichever is longer (a courier who arrives early
 * waits for it), then the ride to the delivery point; after pickup, that last ride alone. Straight-line
 * distance at a constant speed, as dispatch's cost model estimates it. Null once the order has ended.
 */
export function minutesToDelivery(i: EtaInput): number | null {
  const ride = (a: Point, b: Point) => (distanceKm(a, b) / i.speedKmh) * 60;
  if (i.status === 'picked_up') return wholeMinutes(ride(i.courier, i.delivery));
  if (!BEFORE_PICKUP.has(i.status)) return null;
  const atRestaurant = Math.max(ride(i.courier, i.restaurant), preparationLeftMinutes(i));
  return wholeMinutes(atRestaurant + ride(i.restaurant, i.delivery));
}

/** Up to the next minute, forgiving floating-point dust (9.0000000001 minutes is 9). */
const wholeMinutes = (minutes: number) => Math.max(0, Math.ceil(minutes - 1e-6));
