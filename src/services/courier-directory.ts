import type { CourierRepository } from '../db/repositories/courier.repository.ts';
import { ORDER_STATUSES, type OrderStatus, TRANSITIONS } from '../domain/order-status.ts';
import type { BusChannels } from '../live/bus-messages.ts';
import type { EventBus } from '../live/event-bus.ts';
import type { LiveSources } from '../ops/live-metrics.ts';

export type CourierState = 'available' | 'offered' | 'busy' | 'stale';

interface OnShift {
  lat: number;
  lng: number;
  /** When the position was true (epoch ms). */
  at: number;
  /** Since when the courier has held no order (epoch ms). */
  idleSince: number;
}

interface Holding {
  courierId: string;
  version: number;
}

/** An order holds its courier until it reaches a status nothing follows. */
const HOLDS = new Set<OrderStatus>(ORDER_STATUSES.filter((s) => Object.keys(TRANSITIONS[s]).length > 0));
/** Orders that ended lately, so late news of an earlier move cannot make their courier busy again. */
const ENDED_REMEMBERED = 10_000;

export interface CourierDirectoryDeps {
  bus: EventBus;
  couriers: Pick<CourierRepository, 'onShift' | 'activeAssignments'>;
  /** A courier with no fix for this long is stale: shown as such and offered nothing. */
  staleAfterMs: number;
  metrics?: { liveSources: LiveSources };
  now?: () => number;
}

/**
 * Every node's view of the couriers on shift: where each is, whether an order holds them, whether an
 * offer waits for their answer. Loaded from the database at start and kept current by the bus
 * (positions, shifts, order moves, offers), so a node knows the couriers connected to every other node.
 * The bus may lose a message; the next position or move mends the view, and an offer whose close was
 * lost ends at its expiry.
 */
export class CourierDirectory {
  readonly #deps: CourierDirectoryDeps;
  readonly #now: () => number;
  readonly #onShift = new Map<string, OnShift>();
  /** Orders that hold a courier, and the version of the move that said so (older news is ignored). */
  readonly #holding = new Map<string, Holding>();
  /** How many orders hold each courier. */
  readonly #load = new Map<string, number>();
  readonly #ended = new Map<string, number>();
  readonly #offers = new Map<string, { offerId: string; expiresAt: number }>();
  #unsubscribe: (() => void)[] = [];
  /** While loading: who the bus told us about meanwhile, whose news is newer than the load's. */
  #heard: Set<string> | undefined;

  constructor(deps: CourierDirectoryDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** Listens first, then loads, so nothing said between the two is lost; what was heard wins over what was read. */
  async start() {
    const { bus, couriers, metrics } = this.#deps;
    this.#heard = new Set();
    this.#unsubscribe = [
      bus.subscribe('courier.position', (m) => this.#onPosition(m)),
      bus.subscribe('courier.shift', (m) => this.#onShiftChange(m)),
      bus.subscribe('order.moved', (m) => this.#onMoved(m)),
      bus.subscribe('dispatch.offer', (m) => this.#onOffer(m)),
      bus.subscribe('dispatch.offer_closed', (m) => {
        if (this.#offers.get(m.courier_id)?.offerId === m.offer_id) this.#offers.delete(m.courier_id);
      }),
    ];
    try {
      const [shifts, assignments] = await Promise.all([couriers.onShift(), couriers.activeAssignments()]);
      const now = this.#now();
      for (const c of shifts) {
        if (this.#heard.has(c.user_id)) continue;
        const at = (c.last_seen_at ?? c.shift_started_at)?.getTime() ?? 0;
        this.#onShift.set(c.user_id, { lat: c.lat, lng: c.lng, at, idleSince: c.shift_started_at?.getTime() ?? now });
      }
      for (const a of assignments) {
        if (!this.#holding.has(a.id) && !this.#heard.has(a.id)) this.#hold(a.id, { courierId: a.courier_id, version: 0 });
      }
    } finally {
      this.#heard = undefined;
    }
    if (metrics) metrics.liveSources.couriers = () => this.counts();
  }

  close() {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    const sources = this.#deps.metrics?.liveSources;
    if (sources) sources.couriers = undefined;
  }

  /** Every courier on shift, as the ops view shows them. */
  snapshot(): { id: string; lat: number; lng: number; state: CourierState; at: number }[] {
    const now = this.#now();
    return [...this.#onShift].map(([id, c]) => ({ id, lat: c.lat, lng: c.lng, state: this.#state(id, c, now), at: c.at }));
  }

  /**
   * Couriers dispatch may offer an order to: on shift, a fix within the stale limit, no order holding
   * them, no offer open. `idleSinceMs` is the time (epoch ms) since which they have held no order.
   */
  available(): { id: string; lat: number; lng: number; at: number; idleSinceMs: number }[] {
    const now = this.#now();
    const out = [];
    for (const [id, c] of this.#onShift) {
      if (this.#state(id, c, now) === 'available') out.push({ id, lat: c.lat, lng: c.lng, at: c.at, idleSinceMs: c.idleSince });
    }
    return out;
  }

  isOnShift(courierId: string) {
    return this.#onShift.has(courierId);
  }

  /** The courier's last known position and when it was true, if they are on shift. */
  position(courierId: string): { lat: number; lng: number; at: number } | undefined {
    const c = this.#onShift.get(courierId);
    return c && { lat: c.lat, lng: c.lng, at: c.at };
  }

  /** Couriers on shift by state, for the metrics page. */
  counts(): Record<CourierState, number> {
    const counts = { available: 0, offered: 0, busy: 0, stale: 0 };
    const now = this.#now();
    for (const [id, c] of this.#onShift) counts[this.#state(id, c, now)]++;
    return counts;
  }

  #state(id: string, c: OnShift, now: number): CourierState {
    if (now - c.at > this.#deps.staleAfterMs) return 'stale';
    if ((this.#load.get(id) ?? 0) > 0) return 'busy';
    const offer = this.#offers.get(id);
    if (offer && offer.expiresAt > now) return 'offered';
    if (offer) this.#offers.delete(id);
    return 'available';
  }

  #onPosition(m: BusChannels['courier.position']) {
    this.#heard?.add(m.courier_id);
    const c = this.#onShift.get(m.courier_id);
    // Only a courier on shift has positions published, so one we had not heard go on shift has.
    if (!c) this.#onShift.set(m.courier_id, { lat: m.lat, lng: m.lng, at: m.at, idleSince: this.#now() });
    else if (m.at >= c.at) Object.assign(c, { lat: m.lat, lng: m.lng, at: m.at });
  }

  #onShiftChange(m: BusChannels['courier.shift']) {
    this.#heard?.add(m.courier_id);
    if (!m.on_shift) {
      this.#onShift.delete(m.courier_id);
      this.#offers.delete(m.courier_id);
      return;
    }
    if (m.lat === null || m.lng === null) return;
    const c = this.#onShift.get(m.courier_id);
    if (c && c.at > m.at) return;
    this.#onShift.set(m.courier_id, { lat: m.lat, lng: m.lng, at: m.at, idleSince: c?.idleSince ?? this.#now() });
  }

  #onOffer(m: BusChannels['dispatch.offer']) {
    // Offers to couriers who then left the shift are never asked about again: dropped once expired.
    if (this.#offers.size > 2 * this.#onShift.size + 100) {
      const now = this.#now();
      for (const [id, offer] of this.#offers) if (offer.expiresAt <= now) this.#offers.delete(id);
    }
    this.#offers.set(m.courier_id, { offerId: m.offer_id, expiresAt: m.expires_at });
  }

  #onMoved(m: BusChannels['order.moved']) {
    this.#heard?.add(m.order_id);
    const known = this.#holding.get(m.order_id);
    if ((known?.version ?? this.#ended.get(m.order_id) ?? -1) >= m.version) return;
    if (known) this.#release(m.order_id, known.courierId);
    if (m.courier_id !== null && HOLDS.has(m.status)) {
      this.#hold(m.order_id, { courierId: m.courier_id, version: m.version });
      return;
    }
    if (!known && m.courier_id === null) return;
    this.#ended.set(m.order_id, m.version);
    if (this.#ended.size > ENDED_REMEMBERED) this.#ended.delete(this.#ended.keys().next().value!);
  }

  #hold(orderId: string, holding: Holding) {
    this.#holding.set(orderId, holding);
    this.#load.set(holding.courierId, (this.#load.get(holding.courierId) ?? 0) + 1);
  }

  #release(orderId: string, courierId: string) {
    this.#holding.delete(orderId);
    const left = (this.#load.get(courierId) ?? 1) - 1;
    if (left > 0) {
      this.#load.set(courierId, left);
      return;
    }
    this.#load.delete(courierId);
    const c = this.#onShift.get(courierId);
    if (c) c.idleSince = this.#now();
  }
}
