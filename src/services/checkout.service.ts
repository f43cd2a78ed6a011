import type { OrderRepository, PartnerState } from '../db/repositories/order.repository.ts';
import { SYSTEM } from '../domain/identity.ts';
import type { Point } from '../domain/geo.ts';
import { PartnerError, failureKind } from '../partners/partner-errors.ts';
import type { Authorization } from '../partners/payments.client.ts';
import type { PosSubmission } from '../partners/pos.client.ts';
import type { Partners } from '../partners/index.ts';
import type { OrderTransitions } from './order-transitions.ts';

type Outcome<T> = PromiseSettledResult<T>;

/** What the insert of a `placed` order already knew, so checkout reads nothing again. */
export interface CheckoutOrder {
  id: string;
  customer_id: string;
  total_cents: number;
  currency: string;
  restaurant: Point & { id: string; prep_minutes: number; pos_integrated: boolean };
  delivery: Point;
  items: { menu_item_id: string; quantity: number }[];
}

const describeFailure = (result: PromiseRejectedResult) => failureKind(result.reason);

/**
 * After an order is written as `placed`: authorise the payment, submit to the POS and quote an ETA
 * at once, under one deadline, then confirm or fail it. The caller's connection plays no part: once
 * started, checkout ends in a decision even if the customer has gone, and a failed order's
 * compensation is queued with the decision (see OrderTransitions).
 */
export class CheckoutService {
  readonly #orders: OrderRepository;
  readonly #transitions: OrderTransitions;
  readonly #partners: Partners;
  readonly #deadlineMs: number;

  constructor(deps: { orders: OrderRepository; transitions: OrderTransitions; partners: Partners; deadlineMs: number }) {
    this.#orders = deps.orders;
    this.#transitions = deps.transitions;
    this.#partners = deps.partners;
    this.#deadlineMs = deps.deadlineMs;
  }

  /**
   * Runs for an order just inserted as `placed`, with what the insert already knew (no re-read).
   * Returns the decided order, or undefined while a tablet restaurant still has to decide.
   */
  async run(order: CheckoutOrder) {
    const signal = AbortSignal.timeout(this.#deadlineMs);
    const { restaurant } = order;
    const pos = restaurant.pos_integrated;

    const [payment, submission, eta] = await Promise.allSettled([
      this.#partners.payments.authorize({ id: order.id, totalCents: order.total_cents, currency: order.currency }, signal),
      pos
        ? this.#partners.pos.submit({ id: order.id, restaurantId: restaurant.id, items: order.items }, signal)
        : Promise.resolve(undefined),
      this.#partners.eta.predict({ lat: restaurant.lat, lng: restaurant.lng }, order.delivery, restaurant.prep_minutes, signal),
    ]);

    const patch: PartnerState = {
      ...paymentState(payment),
      ...(pos ? posState(submission as Outcome<PosSubmission>) : {}),
      eta_minutes: eta.status === 'fulfilled' ? eta.value : null,
    };
    const failure = this.#failure(payment, pos ? (submission as Outcome<PosSubmission>) : undefined);
    if (!failure && !pos) {
      // A tablet restaurant decides in person; the sweeper rejects the order if nobody does in time.
      if (await this.#orders.recordPartnerState(order.id, patch, 'placed')) {
        this.#transitions.announce({ id: order.id, restaurant_id: restaurant.id, customer_id: order.customer_id, courier_id: null, status: 'placed', version: 1 });
      }
      return undefined;
    }
    // The order as its insert wrote it: nobody else may move it while checkout runs (decideMove).
    const placed = { id: order.id, status: 'placed', version: 1, payment_state: 'pending', courier_id: null } as const;
    const result = await this.#transitions.move(placed, { to: failure?.status ?? 'confirmed' }, SYSTEM, { reason: failure?.reason, patch });
    if (result.outcome === 'refused') throw new Error(`checkout's own decision was refused: ${result.refusal.detail}`);
    return result.outcome === 'moved' ? result.order : undefined;
  }

  #failure(payment: Outcome<Authorization>, submission: Outcome<PosSubmission> | undefined) {
    if (payment.status === 'rejected') return { status: 'payment_failed' as const, reason: `payment_unavailable: ${describeFailure(payment)}` };
    if (!payment.value.ok) return { status: 'payment_failed' as const, reason: `payment_declined: ${payment.value.reason}` };
    if (!submission) return undefined;
    if (submission.status === 'rejected') return { status: 'rejected' as const, reason: `pos_unavailable: ${describeFailure(submission)}` };
    if (!submission.value.ok) return { status: 'rejected' as const, reason: `restaurant_rejected: ${submission.value.reason}` };
    return undefined;
  }
}

/**
 * A call that failed without an answer left the partner's side unknown, and compensation replays it
 * under the same key to learn what to undo; one that provably never left dabba left nothing to undo,
 * and replaying it would only make a new hold (or ticket) to take back.
 */
const unanswered = (reason: unknown) => (reason instanceof PartnerError && !reason.mayHaveReached ? 'not_sent' : 'unknown');

function paymentState(payment: Outcome<Authorization>): PartnerState {
  if (payment.status === 'rejected') return { payment_state: unanswered(payment.reason) };
  return payment.value.ok
    ? { payment_state: 'authorized', authorization_id: payment.value.authorizationId }
    : { payment_state: 'declined' };
}

function posState(submission: Outcome<PosSubmission>): PartnerState {
  if (submission.status === 'rejected') return { pos_state: unanswered(submission.reason) };
  return submission.value.ok ? { pos_state: 'accepted', pos_order_id: submission.value.posOrderId } : { pos_state: 'rejected' };
}
