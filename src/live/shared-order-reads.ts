import type { OrderEvent, OrderEventsRepository } from '../db/repositories/order-events.repository.ts';
import type { LiveHub } from './live-hub.ts';

/**
 * One query for all of a node's watchers of an order that a move nudges at once (a customer's phone
 * and laptop, an order's ten watchers in the track benchmark): without it, every move costs one read
 * per watcher. A read is shared only by watchers asking after the same event id, and only while no
 * move has been heard since it began — a read begun before a move might not see it, so a watcher
 * nudged by that move starts a read of its own.
 */
export class SharedOrderReads implements Pick<OrderEventsRepository, 'forOrder'> {
  readonly #events: Pick<OrderEventsRepository, 'forOrder'>;
  readonly #hub: Pick<LiveHub, 'movesHeard'>;
  readonly #reads = new Map<string, Promise<OrderEvent[]>>();

  constructor(events: Pick<OrderEventsRepository, 'forOrder'>, hub: Pick<LiveHub, 'movesHeard'>) {
    this.#events = events;
    this.#hub = hub;
  }

  forOrder(orderId: string, afterId: number, limit: number): Promise<OrderEvent[]> {
    const key = `${orderId}:${afterId}:${limit}:${this.#hub.movesHeard}`;
    const running = this.#reads.get(key);
    if (running) return running;
    const read = this.#events.forOrder(orderId, afterId, limit).finally(() => this.#reads.delete(key));
    this.#reads.set(key, read);
    return read;
  }
}
