import type { OrderRepository, OrderView, PartnerState } from '../db/repositories/order.repository.ts';
import type { Actor, Principal } from '../domain/identity.ts';
import { type MoveIntent, type OrderSnapshot, type Refusal, decideMove } from '../domain/order-moves.ts';

/** What those who follow orders hear of a change: who it concerns, and where the order now stands. */
export type OrderNews = Pick<OrderView, 'id' | 'restaurant_id' | 'customer_id' | 'courier_id' | 'status' | 'version'>;

export type MoveResult =
  | { outcome: 'moved'; order: OrderView }
  | { outcome: 'refused'; refusal: Refusal }
  /** Someone else moved the order since it was read: read it again and decide again. */
  | { outcome: 'stale' };

/** Optimistic writes are decided again after a lost race, while the move is still allowed; a few tries suffice. */
const MAX_ATTEMPTS = 5;

/**
 * The only way any code changes an order's progress: every move, a person's or the system's, is
 * decided by `decideMove` and written by `OrderRepository.changeStatus` as one versioned statement with
 * its event and owed follow-ups, so a crash leaves either the old state or the new one with its
 * follow-ups owed. Whoever must act on moves (the follow-up relay; live streams) subscribes.
 */
export class OrderTransitions {
  readonly #orders: OrderRepository;
  readonly #movedListeners: ((order: OrderNews) => void)[] = [];
  readonly #newsListeners: ((order: OrderNews) => void)[] = [];

  constructor(orders: OrderRepository) {
    this.#orders = orders;
  }

  /** Called after every committed move, synchronously: keep it cheap (a nudge, a publish). */
  onMoved(listener: (order: OrderNews) => void) {
    this.#movedListeners.push(listener);
  }

  /** Called after every committed move and every `announce`d change: what watchers of orders hear. */
  onNews(listener: (order: OrderNews) => void) {
    this.#newsListeners.push(listener);
  }

  /**
   * News of an order that changed without a move (nothing owed follows it, so only `onNews` hears it):
   * a tablet restaurant's order, which checkout leaves `placed` once its payment is authorised. Only
   * then is it the restaurant's to accept, and its board must hear of it now, not at its next move.
   */
  announce(order: OrderNews) {
    for (const listener of this.#newsListeners) listener(order);
  }

  /** One attempt against the order as the caller read it, recording `patch` (partner outcomes) with the move. */
  async move(order: OrderSnapshot, intent: MoveIntent, actor: Actor, opts: { reason?: string; patch?: PartnerState } = {}): Promise<MoveResult> {
    const decision = decideMove({ ...order, ...pick(opts.patch) }, intent, actor, opts.reason);
    if (!decision.ok) return { outcome: 'refused', refusal: decision.refusal };
    const moved = await this.#orders.changeStatus(decision.move, opts.patch);
    if (!moved) return { outcome: 'stale' };
    for (const listener of this.#movedListeners) listener(moved);
    this.announce(moved);
    return { outcome: 'moved', order: moved };
  }

  /**
   * Reads the order (only if `visibleTo` may see it, when given), decides and writes; after a lost
   * race, reads and decides again. `not_found` when there is no such order for that reader.
   */
  async apply(orderId: string, intent: MoveIntent, actor: Actor, opts: { visibleTo?: Principal; reason?: string } = {}) {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const order = await this.#orders.findSnapshot(orderId, opts.visibleTo);
      if (!order) return { outcome: 'not_found' } as const;
      const result = await this.move(order, intent, actor, { reason: opts.reason });
      if (result.outcome !== 'stale') return result;
    }
    return { outcome: 'stale' } as const;
  }
}

/** The partner outcome a move records counts in its decision (checkout confirms with the authorisation it just got). */
const pick = (patch: PartnerState | undefined) => (patch?.payment_state ? { payment_state: patch.payment_state } : {});
