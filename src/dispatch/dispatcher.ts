import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { DispatchRepository, WaitingOrder } from '../db/repositories/dispatch.repository.ts';
import type { OrderRepository } from '../db/repositories/order.repository.ts';
import { distanceKm } from '../domain/geo.ts';
import { SYSTEM } from '../domain/identity.ts';
import type { BusChannels } from '../live/bus-messages.ts';
import type { EventBus } from '../live/event-bus.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { OrderTransitions } from '../services/order-transitions.ts';
import type { ZoneBatch } from './batch-task.ts';
import { DispatchPool } from './dispatch-pool.ts';
import { type Offer, OfferBook } from './offer-book.ts';
import type { RestaurantZones } from './restaurant-zones.ts';
import type { ZoneLeases } from './zone-leases.ts';
import { zoneOf } from './zones.ts';

type Outcome = BusChannels['dispatch.offer_closed']['outcome'];

/** A courier free for an offer: on shift, fresh, not busy, no open offer (as the courier directory sees them). */
export interface FreeCourier {
  id: string;
  lat: number;
  lng: number;
  idleSinceMs: number;
}

export interface DispatcherDeps {
  leases: ZoneLeases;
  zones: RestaurantZones;
  repo: DispatchRepository;
  /** Read just before an accepted offer is written, to leave an order someone already assigned alone. */
  orders: OrderRepository;
  transitions: OrderTransitions;
  couriers: { available(): readonly FreeCourier[] };
  /** Builds and solves a batch off the main loop (a worker-thread pool); never gives a refused pair. */
  solver: { assign(batch: ZoneBatch, signal?: AbortSignal): Promise<{ courierToOrder: Int32Array }> };
  bus: EventBus;
  metrics: Pick<Metrics, 'dispatchOffers' | 'dispatchSolveSeconds' | 'liveSources'>;
  log: FastifyBaseLogger;
  config: Config['dispatch'];
}

/** A lost race for an assignment is read and decided again, a few times at most. */
const MAX_ASSIGN_ATTEMPTS = 5;

/**
 * Dispatches the zones this node leads. Every DISPATCH_INTERVAL_MS each led zone is one batch: its
 * waiting orders without an open offer against its free couriers, costed and solved optimally in the
 * worker pool (a zone whose last batch is still solving sits the round out); each pair solved becomes
 * an offer, published for the node that holds the courier's socket. An accepted offer assigns the
 * order through OrderTransitions, unless someone (an admin's manual assign, the override) gave it a
 * courier first; a decline or an expiry puts the order back without that courier. Losing a zone
 * withdraws its unanswered offers at once.
 */
export class Dispatcher {
  readonly #deps: DispatcherDeps;
  readonly #book = new OfferBook();
  readonly #pool: DispatchPool;
  /** Zones with a batch being solved, and how to abandon it. */
  readonly #solving = new Map<string, AbortController>();
  readonly #pending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
    this.#pool = new DispatchPool(deps.config.alertAfterMs);
  }

  start() {
    const { leases, bus, metrics, config } = this.#deps;
    leases.on('acquired', this.#acquired);
    leases.on('lost', this.#lost);
    this.#unsubscribe = bus.subscribe('dispatch.answer', (m) => this.#answer(m));
    metrics.liveSources.dispatchPool = () => this.#pool.snapshot();
    this.#timer = setInterval(() => {
      this.#round ??= this.round()
        .catch((err: unknown) => this.#deps.log.error({ err }, 'a dispatch round failed'))
        .finally(() => {
          this.#round = undefined;
        });
    }, config.intervalMs);
    this.#timer.unref();
  }

  /** One round over every led zone not still solving; resolves once their batches are handed to the solver. */
  async round() {
    const { leases, zones, repo, couriers, config, log } = this.#deps;
    const led = [...leases.held()].filter((z) => !this.#solving.has(z));
    if (led.length === 0) return;
    const nowMs = Date.now();
    const waiting = await repo.waitingOrders(led.flatMap((z) => zones.restaurantsIn(z)));
    const free = couriers.available().filter((c) => !this.#book.hasCourier(c.id));
    const ordersIn = group(waiting, (o) => zoneOf({ lat: o.restaurant_lat, lng: o.restaurant_lng }, config.zoneResolution));
    const couriersIn = group(free, (c) => zoneOf(c, config.zoneResolution));
    for (const zone of led) {
      if (this.#closed || !leases.held().has(zone) || this.#solving.has(zone)) continue;
      const orders = (ordersIn.get(zone) ?? []).map((o) => ({ ...o, waitingSinceMs: o.dispatchable_since.getTime() }));
      for (const o of this.#pool.observe(zone, orders, nowMs)) {
        log.warn({ alert: true, zone, orderId: o.id, waitingMs: o.waitingMs }, `order ${o.id} has waited for a courier longer than ${config.alertAfterMs} ms`);
      }
      this.#book.forgetRefusals(zone, new Set(orders.map((o) => o.id)));
      const open = orders.filter((o) => !this.#book.hasOrder(o.id));
      const zoneCouriers = couriersIn.get(zone) ?? [];
      if (open.length > 0 && zoneCouriers.length > 0) this.#solve(zone, zoneCouriers, open, nowMs);
    }
  }

  #solve(zone: string, couriers: FreeCourier[], orders: (WaitingOrder & { waitingSinceMs: number })[], nowMs: number) {
    const abort = new AbortController();
    this.#solving.set(zone, abort);
    this.#track(
      this.#solveBatch(zone, couriers, orders, nowMs, abort.signal)
        .catch((err: unknown) => {
          if (!abort.signal.aborted) this.#deps.log.error({ err, zone }, 'solving a dispatch batch failed');
        })
        .finally(() => {
          if (this.#solving.get(zone) === abort) this.#solving.delete(zone);
        }),
    );
  }

  async #solveBatch(zone: string, couriers: FreeCourier[], orders: (WaitingOrder & { waitingSinceMs: number })[], nowMs: number, signal: AbortSignal) {
    const { solver, metrics, config } = this.#deps;
    const started = performance.now();
    const row = new Map(couriers.map((c, r) => [c.id, r]));
    const refused: [number, number][] = [];
    for (const [c, order] of orders.entries()) {
      for (const courierId of this.#book.refusersOf(order.id)) {
        const r = row.get(courierId);
        if (r !== undefined) refused.push([r, c]);
      }
    }
    const { courierToOrder } = await solver.assign(
      {
        couriers,
        orders: orders.map((o) => ({ restaurant: { lat: o.restaurant_lat, lng: o.restaurant_lng }, readyAtMs: readyAtMs(o, nowMs), waitingSinceMs: o.waitingSinceMs })),
        opts: { speedKmh: config.speedKmh, maxPickupKm: config.maxPickupKm, nowMs },
        refused,
      },
      signal,
    );
    metrics.dispatchSolveSeconds.observe((performance.now() - started) / 1000);
    if (signal.aborted) return;
    for (const [r, c] of courierToOrder.entries()) if (c >= 0) this.#offer(zone, couriers[r]!, orders[c]!);
  }

  #offer(zone: string, courier: FreeCourier, order: WaitingOrder) {
    const { metrics, config } = this.#deps;
    // Anything may have changed while the batch was solved: the zone, an answer, a decline.
    if (this.#closed || !this.#deps.leases.held().has(zone)) return;
    if (this.#book.hasOrder(order.id) || this.#book.hasCourier(courier.id) || this.#book.refused(order.id, courier.id)) return;
    const pickup = { restaurant_id: order.restaurant_id, name: order.restaurant_name, lat: order.restaurant_lat, lng: order.restaurant_lng };
    const offer: Offer = {
      offer_id: randomUUID(),
      courier_id: courier.id,
      order_id: order.id,
      zone,
      expires_at: Date.now() + config.offerTimeoutMs,
      pickup,
      dropoff: { lat: order.delivery_lat, lng: order.delivery_lng, address: order.delivery_address },
      pickup_km: round3(distanceKm(courier, pickup)),
      delivery_km: order.distance_km,
    };
    this.#book.open(offer, (expired) => this.#close(expired.offer_id, 'expired', true));
    metrics.dispatchOffers.inc({ outcome: 'made' });
    this.#publish('dispatch.offer', offer);
  }

  #answer(answer: BusChannels['dispatch.answer']) {
    const offer = this.#book.get(answer.offer_id);
    // Another node's offer, a stranger's answer, or a second answer to one already being acted on.
    if (!offer || offer.courier_id !== answer.courier_id || !this.#book.awaitingAnswer(offer.offer_id)) return;
    this.#book.answered(offer.offer_id);
    if (!answer.accept) {
      this.#close(offer.offer_id, 'declined', true);
      return;
    }
    this.#track(
      this.#assign(offer)
        .catch((err: unknown) => {
          this.#deps.log.error({ err, orderId: offer.order_id, courierId: offer.courier_id }, 'assigning an accepted offer failed');
          return 'withdrawn' as const;
        })
        .then((outcome) => this.#close(offer.offer_id, outcome)),
    );
  }

  /**
   * Written against the order as just read, so an assignment made meanwhile (the admin's override)
   * makes the write lose its version race, and the order is read and decided again.
   */
  async #assign(offer: Offer): Promise<Outcome> {
    const { orders, transitions } = this.#deps;
    for (let attempt = 0; attempt < MAX_ASSIGN_ATTEMPTS; attempt++) {
      const order = await orders.findSnapshot(offer.order_id);
      if (!order || order.courier_id !== null) return 'withdrawn';
      const result = await transitions.move(order, { assign: offer.courier_id }, SYSTEM, { reason: 'dispatch' });
      if (result.outcome === 'moved') return 'assigned';
      if (result.outcome === 'refused') return 'withdrawn';
    }
    return 'withdrawn';
  }

  #close(offerId: string, outcome: Outcome, refused = false) {
    const offer = this.#book.close(offerId, refused);
    if (!offer) return;
    this.#deps.metrics.dispatchOffers.inc({ outcome });
    this.#publish('dispatch.offer_closed', { offer_id: offer.offer_id, courier_id: offer.courier_id, order_id: offer.order_id, outcome });
  }

  readonly #acquired = (zone: string) => {
    this.#pool.observe(zone, [], Date.now());
  };

  /** Another node may lead the zone now: stop, and withdraw the offers nobody answered yet. */
  readonly #lost = (zone: string) => {
    this.#solving.get(zone)?.abort();
    this.#withdrawAll(this.#book.inZone(zone));
    this.#book.forgetRefusals(zone);
    this.#pool.forget(zone);
  };

  /** An accepted offer being written keeps its course: the courier answered in time, and learns the real outcome. */
  #withdrawAll(offers: Offer[]) {
    for (const offer of offers) if (this.#book.awaitingAnswer(offer.offer_id)) this.#close(offer.offer_id, 'withdrawn');
  }

  #publish<C extends 'dispatch.offer' | 'dispatch.offer_closed'>(channel: C, message: BusChannels[C]) {
    try {
      this.#deps.bus.publish(channel, message);
    } catch (err) {
      this.#deps.log.warn({ err, channel }, 'publishing a dispatch message failed');
    }
  }

  #track(work: Promise<void>) {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }

  /** Stops the rounds, abandons running solves, lets accepted offers finish, and withdraws the rest. */
  async close() {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    const { leases, metrics } = this.#deps;
    leases.off('acquired', this.#acquired);
    leases.off('lost', this.#lost);
    await this.#round;
    for (const abort of this.#solving.values()) abort.abort();
    await Promise.allSettled([...this.#pending]);
    this.#withdrawAll(this.#book.all());
    metrics.liveSources.dispatchPool = undefined;
  }
}

/**
 * When the food should be ready: the restaurant's prep time after confirmation; now for an order marked
 * ready before that, and no earlier than now for one running late.
 */
export function readyAtMs(order: Pick<WaitingOrder, 'status' | 'prep_minutes'> & { waitingSinceMs: number }, nowMs: number) {
  const estimate = order.waitingSinceMs + order.prep_minutes * 60_000;
  return order.status === 'ready' ? Math.min(estimate, nowMs) : Math.max(estimate, nowMs);
}

const round3 = (km: number) => Math.round(km * 1000) / 1000;

function group<T>(items: readonly T[], key: (item: T) => string) {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
