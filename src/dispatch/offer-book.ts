import type { BusChannels } from '../live/bus-messages.ts';

export type Offer = BusChannels['dispatch.offer'];

const NOBODY: ReadonlySet<string> = new Set();

/**
 * The offers this node's dispatcher holds open, and who already said no to which order. An order and a
 * courier each have at most one open offer; an offer stays open while its acceptance is being written,
 * so neither is offered again meanwhile. Declines and expiries are remembered per order in memory only:
 * after a failover the new leader may offer an order once more to a courier who turned it down.
 */
export class OfferBook {
  readonly #byId = new Map<string, { offer: Offer; timer: NodeJS.Timeout | undefined }>();
  readonly #byOrder = new Map<string, string>();
  readonly #byCourier = new Map<string, string>();
  /** Per order: its zone, and the couriers who declined it or let an offer of it expire. */
  readonly #refused = new Map<string, { zone: string; couriers: Set<string> }>();

  get size() {
    return this.#byId.size;
  }

  get(offerId: string): Offer | undefined {
    return this.#byId.get(offerId)?.offer;
  }

  hasOrder(orderId: string) {
    return this.#byOrder.has(orderId);
  }

  hasCourier(courierId: string) {
    return this.#byCourier.has(courierId);
  }

  /** Whether the courier declined the order or let an offer of it expire. */
  refused(orderId: string, courierId: string) {
    return this.#refused.get(orderId)?.couriers.has(courierId) ?? false;
  }

  /** Who declined the order or let an offer of it expire. */
  refusersOf(orderId: string): ReadonlySet<string> {
    return this.#refused.get(orderId)?.couriers ?? NOBODY;
  }

  /** Opens an offer; `onExpiry` runs at its `expires_at` unless it is answered or closed first. */
  open(offer: Offer, onExpiry: (offer: Offer) => void) {
    const timer = setTimeout(() => onExpiry(offer), Math.max(0, offer.expires_at - Date.now()));
    timer.unref();
    this.#byId.set(offer.offer_id, { offer, timer });
    this.#byOrder.set(offer.order_id, offer.offer_id);
    this.#byCourier.set(offer.courier_id, offer.offer_id);
  }

  /** An answer arrived: the offer no longer expires, but stays open until `close`. */
  answered(offerId: string) {
    const entry = this.#byId.get(offerId);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.timer = undefined;
  }

  /** Whether the offer is open and not yet answered (an answer or expiry may be acted on once). */
  awaitingAnswer(offerId: string) {
    return this.#byId.get(offerId)?.timer !== undefined;
  }

  /** Closes the offer; when the courier `refused` it (declined, or let it expire), the order is not offered to them again. */
  close(offerId: string, refused = false): Offer | undefined {
    const entry = this.#byId.get(offerId);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    const { offer } = entry;
    this.#byId.delete(offerId);
    this.#byOrder.delete(offer.order_id);
    this.#byCourier.delete(offer.courier_id);
    if (refused) {
      const refusal = this.#refused.get(offer.order_id) ?? { zone: offer.zone, couriers: new Set<string>() };
      refusal.couriers.add(offer.courier_id);
      this.#refused.set(offer.order_id, refusal);
    }
    return offer;
  }

  /** The open offers of one zone (to withdraw them when the zone's leadership is lost). */
  inZone(zone: string): Offer[] {
    return [...this.#byId.values()].filter((e) => e.offer.zone === zone).map((e) => e.offer);
  }

  all(): Offer[] {
    return [...this.#byId.values()].map((e) => e.offer);
  }

  /** Forgets the refusals of the zone's orders that no longer wait (taken or cancelled); all of them when the zone is lost. */
  forgetRefusals(zone: string, waiting: ReadonlySet<string> = new Set()) {
    for (const [orderId, refused] of this.#refused) if (refused.zone === zone && !waiting.has(orderId)) this.#refused.delete(orderId);
  }
}
