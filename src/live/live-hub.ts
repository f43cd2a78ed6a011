import type { BusChannels } from './bus-messages.ts';
import type { EventBus } from './event-bus.ts';

export type Position = BusChannels['courier.position'];

/** Listeners by key: what a bus message is about decides, with one map lookup, who hears it. */
class Listeners<T> {
  readonly #byKey = new Map<string, Set<(value: T) => void>>();

  add(key: string, fn: (value: T) => void): () => void {
    const set = this.#byKey.get(key) ?? new Set();
    this.#byKey.set(key, set);
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#byKey.get(key) === set) this.#byKey.delete(key);
    };
  }

  emit(key: string | null, value: T) {
    if (key === null) return;
    const set = this.#byKey.get(key);
    if (set) for (const fn of set) fn(value);
  }
}

/**
 * The node's one subscription to each channel the streams need, handed to the streams it concerns:
 * an order's moves to the order's and its restaurant's watchers, a courier's positions to the watchers
 * of the order that courier carries. However many watchers, the bus delivers each message to the node
 * once, and each watcher costs an entry in a map.
 */
export class LiveHub {
  readonly #orders = new Listeners<void>();
  readonly #restaurants = new Listeners<void>();
  readonly #couriers = new Listeners<Position>();
  readonly #unsubscribe: (() => void)[];
  #movesHeard = 0;

  constructor(bus: EventBus) {
    this.#unsubscribe = [
      bus.subscribe('order.moved', (m) => {
        this.#movesHeard++;
        this.#orders.emit(m.order_id);
        this.#restaurants.emit(m.restaurant_id);
      }),
      bus.subscribe('courier.position', (m) => this.#couriers.emit(m.courier_id, m)),
    ];
  }

  /** How many moves this node has heard of: a read begun at a count has seen every move up to it. */
  get movesHeard() {
    return this.#movesHeard;
  }

  /** `nudge` runs whenever the order moved; returns the unsubscribe. */
  onOrderMoved(orderId: string, nudge: () => void) {
    return this.#orders.add(orderId, nudge);
  }

  /** `nudge` runs whenever any of the restaurant's orders moved. */
  onRestaurantMoved(restaurantId: string, nudge: () => void) {
    return this.#restaurants.add(restaurantId, nudge);
  }

  onCourierPosition(courierId: string, listener: (p: Position) => void) {
    return this.#couriers.add(courierId, listener);
  }

  close() {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}
