import type { BusChannels, Channel } from './bus-messages.ts';

export type Handler<C extends Channel> = (message: BusChannels[C]) => void;

/**
 * Fan-out between the parts of dabba that live on different nodes: publish is fire-and-forget, and
 * every subscriber on every node hears every message of its channel. Handlers run synchronously on
 * delivery: keep them cheap (a map lookup, a nudge), never await in one.
 */
export interface EventBus {
  publish<C extends Channel>(channel: C, message: BusChannels[C]): void;
  /** Returns the unsubscribe. */
  subscribe<C extends Channel>(channel: C, handler: Handler<C>): () => void;
  close(): Promise<void>;
}

/**
 * One node, no set-up: messages go to this process's subscribers, on a later microtask so a
 * publisher never runs a subscriber inside its own call (as with a real bus).
 */
export class LocalBus implements EventBus {
  readonly #handlers = new Map<Channel, Set<Handler<Channel>>>();
  #closed = false;

  publish<C extends Channel>(channel: C, message: BusChannels[C]) {
    if (this.#closed) return;
    const handlers = this.#handlers.get(channel);
    if (!handlers || handlers.size === 0) return;
    queueMicrotask(() => {
      for (const handler of handlers) (handler as Handler<C>)(message);
    });
  }

  subscribe<C extends Channel>(channel: C, handler: Handler<C>) {
    const handlers = this.#handlers.get(channel) ?? new Set();
    this.#handlers.set(channel, handlers);
    handlers.add(handler as Handler<Channel>);
    return () => {
      handlers.delete(handler as Handler<Channel>);
    };
  }

  async close() {
    this.#closed = true;
    this.#handlers.clear();
  }
}
