import type { ZoneBatch } from '../src/dispatch/batch-task.ts';
import type { DispatchCourier, DispatchOrder } from '../src/domain/dispatch-cost.ts';
import { offset, type Point } from '../src/domain/geo.ts';
import { seededRandom as random } from '../src/domain/seeded-random.ts';

export interface BatchShape {
  couriers: number;
  orders: number;
  center: Point;
  radiusKm: number;
  nowMs: number;
  seed: number;
  /** The pickup radius in km (default 10, as DISPATCH_MAX_PICKUP_KM). */
  maxPickupKm?: number;
  /** Courier–order pairs refused earlier, drawn at random (default none). */
  refusals?: number;
}

/** DISPATCH_SPEED_KMH's default. */
const SPEED_KMH = 20;

/**
 * One zone's batch as the dispatcher hands it to the solver pool: couriers and restaurants spread evenly
 * over a disc, couriers idle up to 20 minutes, orders waiting up to 15, their food ready from 5 minutes
 * ago to 20 minutes ahead.
 */
export function zoneBatch(shape: BatchShape): ZoneBatch & { couriers: DispatchCourier[]; orders: DispatchOrder[] } {
  const rnd = random(shape.seed);
  // The square root spreads points evenly over the disc's area rather than crowding its centre.
  const point = () => offset(shape.center, rnd() * 360, shape.radiusKm * Math.sqrt(rnd()));
  const minutes = (from: number, to: number) => shape.nowMs + (from + rnd() * (to - from)) * 60_000;
  const couriers = Array.from({ length: shape.couriers }, (_, i) => ({ id: `courier-${i}`, ...point(), idleSinceMs: minutes(-20, 0) }));
  const orders = Array.from({ length: shape.orders }, (_, i) => ({
    id: `order-${i}`,
    restaurant: point(),
    readyAtMs: minutes(-5, 20),
    waitingSinceMs: minutes(-15, 0),
  }));
  const pairs = shape.couriers > 0 && shape.orders > 0 ? (shape.refusals ?? 0) : 0;
  const refused = Array.from({ length: pairs }, () => [Math.floor(rnd() * shape.couriers), Math.floor(rnd() * shape.orders)] as [number, number]);
  return { couriers, orders, opts: { speedKmh: SPEED_KMH, maxPickupKm: shape.maxPickupKm ?? 10, nowMs: shape.nowMs }, refused };
}
