import type { FastifyBaseLogger } from 'fastify';
import type { OrderRepository } from '../db/repositories/order.repository.ts';
import { SYSTEM } from '../domain/identity.ts';
import type { OrderTransitions } from './order-transitions.ts';

const BATCH = 100;

/**
 * No order stays stuck: every interval, orders that made no progress past their deadline are
 * resolved through the state machine (and so compensated by their follow-up jobs). Every node may
 * sweep; the versioned write lets exactly one of them resolve each order.
 */
export class OrderSweeper {
  readonly #orders: OrderRepository;
  readonly #transitions: OrderTransitions;
  readonly #log: FastifyBaseLogger;
  readonly #opts: { intervalMs: number; checkoutTimeoutMs: number; tabletTimeoutMs: number };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: {
    orders: OrderRepository;
    transitions: OrderTransitions;
    log: FastifyBaseLogger;
    intervalMs: number;
    checkoutTimeoutMs: number;
    tabletTimeoutMs: number;
  }) {
    this.#orders = deps.orders;
    this.#transitions = deps.transitions;
    this.#log = deps.log;
    this.#opts = deps;
  }

  start() {
    this.#timer = setInterval(() => {
      this.#running ??= this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.#log.error({ err }, 'order sweep failed'))
        .finally(() => {
          this.#running = undefined;
        });
    }, this.#opts.intervalMs);
    this.#timer.unref();
  }

  /** Resolves every stuck order it finds; returns how many it moved. */
  async sweep(): Promise<number> {
    const now = Date.now();
    const stuck = await this.#orders.findStuck({
      checkoutBefore: new Date(now - this.#opts.checkoutTimeoutMs),
      tabletBefore: new Date(now - this.#opts.tabletTimeoutMs),
      limit: BATCH,
    });
    let moved = 0;
    for (const order of stuck) {
      const checkoutDied = order.payment_state === 'pending' || order.payment_state === 'unknown';
      const to = checkoutDied ? 'payment_failed' : 'rejected';
      const reason = checkoutDied || order.pos_integrated ? 'checkout_timed_out' : 'restaurant_did_not_answer';
      const result = await this.#transitions.move(order, { to }, SYSTEM, { reason });
      if (result.outcome === 'refused') this.#log.error({ orderId: order.id, refusal: result.refusal }, 'a stuck order cannot be resolved');
      if (result.outcome === 'moved') {
        moved++;
        this.#log.warn({ orderId: order.id, to, reason }, 'resolved a stuck order');
      }
    }
    return moved;
  }

  async close() {
    clearInterval(this.#timer);
    await this.#running;
  }
}
