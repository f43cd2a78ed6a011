import type { FastifyBaseLogger } from 'fastify';
import type { OrderRepository } from '../db/repositories/order.repository.ts';
import { SYSTEM } from '../domain/identity.ts';
import type { MoveIntent, OrderSnapshot } from '../domain/order-moves.ts';
import type { OrderTransitions } from './order-transitions.ts';

const BATCH = 100;

/**
 * No order stays stuck: every interval, orders that made no progress past their deadline are
 * resolved through the order's rules (and so compensated by their follow-up jobs): a checkout whose
 * process died, a tablet restaurant that never answered, and a confirmed order no courier picked up,
 * which would otherwise hold the customer's money for good. An order whose courier went off shift
 * before picking it up goes back to dispatch. Every node may sweep; the versioned write lets exactly
 * one of them resolve each order.
 */
export class OrderSweeper {
  readonly #orders: OrderRepository;
  readonly #transitions: OrderTransitions;
  readonly #log: FastifyBaseLogger;
  readonly #opts: { intervalMs: number; checkoutTimeoutMs: number; tabletTimeoutMs: number; pickupTimeoutMs: number };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: {
    orders: OrderRepository;
    transitions: OrderTransitions;
    log: FastifyBaseLogger;
    intervalMs: number;
    checkoutTimeoutMs: number;
    tabletTimeoutMs: number;
    pickupTimeoutMs: number;
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
    const [stuck, unpicked, stranded] = await Promise.all([
      this.#orders.findStuck({
        checkoutBefore: new Date(now - this.#opts.checkoutTimeoutMs),
        tabletBefore: new Date(now - this.#opts.tabletTimeoutMs),
        limit: BATCH,
      }),
      this.#orders.findUnpicked({ before: new Date(now - this.#opts.pickupTimeoutMs), limit: BATCH }),
      this.#orders.findStranded({ limit: BATCH }),
    ]);
    let moved = 0;
    for (const order of stuck) {
      const checkoutDied = order.payment_state === 'pending' || order.payment_state === 'unknown';
      const to = checkoutDied ? 'payment_failed' : 'rejected';
      const reason = checkoutDied || order.pos_integrated ? 'checkout_timed_out' : 'restaurant_did_not_answer';
      if (await this.#resolve(order, { to }, reason)) moved++;
    }
    for (const order of unpicked) if (await this.#resolve(order, { to: 'cancelled' }, 'no_courier_picked_up')) moved++;
    for (const order of stranded) if (await this.#resolve(order, { unassign: order.courier_id! }, 'courier_off_shift')) moved++;
    return moved;
  }

  async #resolve(order: OrderSnapshot, intent: MoveIntent, reason: string) {
    const result = await this.#transitions.move(order, intent, SYSTEM, { reason });
    if (result.outcome === 'refused') this.#log.error({ orderId: order.id, refusal: result.refusal }, 'a stuck order cannot be resolved');
    if (result.outcome !== 'moved') return false;
    this.#log.warn({ orderId: order.id, ...intent, reason }, 'resolved a stuck order');
    return true;
  }

  async close() {
    clearInterval(this.#timer);
    await this.#running;
  }
}
