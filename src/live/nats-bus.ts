import { type NatsConnection, connect } from '@nats-io/transport-node';
import type { BusChannels, Channel } from './bus-messages.ts';
import type { EventBus, Handler } from './event-bus.ts';

/**
 * The bus between nodes: NATS core subjects `<prefix>.<channel>` (at-most-once, which is all the bus
 * promises: see bus-messages.ts). One NATS subscription per channel per node, however many handlers,
 * so a node hears each message once. The client reconnects by itself; messages published while it is
 * away are buffered by the client up to its limit, then dropped.
 * @see https://docs.nats.io/nats-concepts/core-nats/pubsub
 */
export class NatsBus implements EventBus {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #handlers = new Map<Channel, Set<Handler<Channel>>>();

  private constructor(nc: NatsConnection, prefix: string) {
    this.#nc = nc;
    this.#prefix = prefix;
  }

  static async connect(opts: { url: string; subjectPrefix: string }) {
    const nc = await connect({ servers: opts.url, name: 'dabba', maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    return new NatsBus(nc, opts.subjectPrefix);
  }

  publish<C extends Channel>(channel: C, message: BusChannels[C]) {
    if (this.#nc.isClosed() || this.#nc.isDraining()) return;
    this.#nc.publish(`${this.#prefix}.${channel}`, JSON.stringify(message));
  }

  subscribe<C extends Channel>(channel: C, handler: Handler<C>) {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      const set = new Set<Handler<Channel>>();
      handlers = set;
      this.#handlers.set(channel, set);
      this.#nc.subscribe(`${this.#prefix}.${channel}`, {
        callback: (err, msg) => {
          if (err) return;
          let message: BusChannels[C];
          try {
            message = msg.json<BusChannels[C]>();
          } catch {
            return;
          }
          for (const h of set) (h as Handler<C>)(message);
        },
      });
    }
    handlers.add(handler as Handler<Channel>);
    return () => {
      handlers.delete(handler as Handler<Channel>);
    };
  }

  async close() {
    this.#handlers.clear();
    if (!this.#nc.isClosed()) await this.#nc.drain();
  }
}
