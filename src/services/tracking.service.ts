import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { OrderEventsRepository } from '../db/repositories/order-events.repository.ts';
import type { Principal } from '../domain/identity.ts';
import { notFound } from '../errors.ts';
import type { HealthFigures } from '../ops/health-figures.ts';
import { CitySampler, type CourierSnapshots } from '../live/city-sampler.ts';
import type { LiveHub } from '../live/live-hub.ts';
import type { LiveFeed } from '../live/live-streams.ts';
import { OrderTrackFeed } from '../live/order-track-feed.ts';
import { RestaurantFeed } from '../live/restaurant-feed.ts';
import { SettledCursor } from '../live/settled-cursor.ts';
import { SharedOrderReads } from '../live/shared-order-reads.ts';
import { isFinal } from '../domain/order-status.ts';

/** Orders in progress a restaurant's snapshot lists at most. */
const SNAPSHOT_ORDERS = 1_000;
/** An order has about ten events: a final order's whole history is one read (the feed reads on if not). */
const FINAL_BACKLOG = 50;

export interface TrackingDeps {
  events: OrderEventsRepository;
  hub: LiveHub;
  health: HealthFigures;
  /** The couriers on shift for the ops view; none shown without it. */
  couriers?: CourierSnapshots;
  speedKmh: number;
  positionIntervalMs: number;
  log: FastifyBaseLogger;
}

/**
 * Who may watch what, and the feed each watcher gets. Every check happens before a stream opens, so a
 * refusal is an ordinary problem answer: an order the caller cannot see, or a restaurant that is not
 * theirs, does not exist for them (404).
 */
export class TrackingService {
  readonly #deps: TrackingDeps;
  readonly #city: CitySampler;
  readonly #orderReads: SharedOrderReads;

  constructor(deps: TrackingDeps) {
    this.#deps = deps;
    this.#orderReads = new SharedOrderReads(deps.events, deps.hub);
    this.#city = new CitySampler({ orders: deps.events, couriers: deps.couriers, health: deps.health, intervalMs: 1_000, log: deps.log });
  }

  /**
   * An order's watcher, resuming after `lastEventId` (from the start without one). Undefined when there
   * is nothing left to say: the order has ended and the client has every event (an SSE client told 204
   * stops reconnecting).
   */
  async order(who: Principal, orderId: string, lastEventId?: number): Promise<LiveFeed | undefined> {
    const { events, hub, speedKmh, positionIntervalMs, log } = this.#deps;
    const row = await events.trackable(orderId, who);
    if (!row) throw notFound('Order');
    const after = lastEventId ?? 0;
    const backlog = isFinal(row.status) ? await events.forOrder(orderId, after, FINAL_BACKLOG) : undefined;
    if (backlog?.length === 0) return undefined;
    const order = {
      id: row.id,
      status: row.status,
      courierId: row.courier_id,
      restaurant: { lat: row.restaurant_lat, lng: row.restaurant_lng },
      delivery: { lat: row.delivery_lat, lng: row.delivery_lng },
      prepMinutes: row.prep_minutes,
      preparingSince: row.preparing_since ? new Date(row.preparing_since).getTime() : null,
    };
    return new OrderTrackFeed({ events: this.#orderReads, hub, speedKmh, positionIntervalMs, log }, order, after, backlog);
  }

  /**
   * A restaurant's watcher (its owner, or an admin), resuming after `lastEventId`; without one, it
   * starts with a snapshot of the orders in progress, and the events after it.
   */
  async restaurant(who: Principal, restaurantId: string, lastEventId?: number): Promise<LiveFeed> {
    const { events, hub, log } = this.#deps;
    if (!(await events.restaurantVisible(restaurantId, who.role === 'admin' ? undefined : who.id))) throw notFound('Restaurant');
    if (lastEventId !== undefined) return new RestaurantFeed({ events, hub, log }, restaurantId, new SettledCursor(lastEventId));
    // The snapshot must show every event up to the id the stream continues after; an event below it can
    // still commit while the transactions running when that id was read go on, so the snapshot is taken
    // (again) once they have all ended: at once but under a long-running transaction.
    const latest = await events.latest();
    let snapshot = await events.inProgressAt(restaurantId, SNAPSHOT_ORDERS);
    for (let waitMs = 5; snapshot.xmin < latest.xmax && waitMs <= 1_280; waitMs *= 2) {
      await sleep(waitMs);
      snapshot = await events.inProgressAt(restaurantId, SNAPSHOT_ORDERS);
    }
    if (snapshot.xmin < latest.xmax) log.warn({ restaurant_id: restaurantId }, 'a restaurant snapshot was taken while a long transaction ran; a move committing at that moment may be missing from it');
    return new RestaurantFeed({ events, hub, log }, restaurantId, new SettledCursor(latest.maxId), {
      restaurant_id: restaurantId,
      as_of_event_id: latest.maxId,
      orders: snapshot.orders,
      truncated: snapshot.orders.length === SNAPSHOT_ORDERS,
    });
  }

  /** An admin's view of the whole city. */
  city(): LiveFeed {
    return this.#city.feed();
  }

  close() {
    this.#city.close();
    this.#deps.hub.close();
  }
}
