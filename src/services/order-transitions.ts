import type { OrderRepository, StatusChange } from '../db/repositories/order.repository.ts';
import type { FollowUpRelay } from '../jobs/follow-up-relay.ts';

/**
 * The one writer of order statuses. A move is a versioned update and its event, with the event's
 * follow-ups marked pending, in one statement: a crash leaves either the old status or the new one
 * with its follow-ups owed. The relay then turns them into jobs; it is nudged at once, and also
 * sweeps on a timer for moves whose process died before it could.
 */
export class OrderTransitions {
  readonly #orders: OrderRepository;
  readonly #relay: FollowUpRelay;

  constructor(orders: OrderRepository, relay: FollowUpRelay) {
    this.#orders = orders;
    this.#relay = relay;
  }

  /** The order as it now is, or undefined when its version moved on since it was read: re-read and decide again. */
  async move(change: StatusChange) {
    const moved = await this.#orders.changeStatus(change);
    if (moved) this.#relay.kick();
    return moved;
  }
}
