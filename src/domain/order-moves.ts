import type { Actor } from './identity.ts';
import { type OrderStatus, type PaymentState, TRANSITIONS, canAssignCourier } from './order-status.ts';

/** What deciding a move needs to know of an order, as read (with whatever partner outcome the move itself records). */
export interface OrderSnapshot {
  id: string;
  status: OrderStatus;
  version: number;
  payment_state: PaymentState;
  courier_id: string | null;
}

/**
 * What someone wants to happen: a new status, a courier taking the order, or the courier named
 * giving it back (off shift before the pick-up) so that dispatch offers it again.
 */
export type MoveIntent = { to: OrderStatus } | { assign: string } | { unassign: string };

export type EventKind = 'status' | 'courier_assigned' | 'courier_unassigned';

export type RefusalCode =
  /** The order's status cannot become the one asked for (or a courier can no longer be assigned). */
  | 'illegal'
  /** This kind of actor may not make this move. */
  | 'forbidden'
  /** A courier moving an order that is not theirs. */
  | 'not_assigned'
  /** Checkout has not decided yet; only the system may move the order until it has. */
  | 'checkout_running'
  /** Confirming needs an authorised payment. */
  | 'payment_not_authorized'
  /** Picking up needs a courier. */
  | 'no_courier';

export interface Refusal {
  code: RefusalCode;
  detail: string;
  current_status: OrderStatus;
}

declare const decided: unique symbol;

/**
 * A move `decideMove` allowed. The brand means no other code can make one, so the repository's one
 * status write takes only decided moves.
 */
export type Move = {
  readonly orderId: string;
  readonly fromVersion: number;
  readonly from: OrderStatus;
  readonly to: OrderStatus;
  readonly kind: EventKind;
  /** The courier the move assigns, or releases. */
  readonly courierId: string | null;
  readonly actor: Actor;
  readonly reason: string | null;
  /** Whether the move leaves durable follow-ups owed (see follow-ups.ts): every status change does. */
  readonly followUpsOwed: boolean;
} & { readonly [decided]: true };

export type Decision = { ok: true; move: Move } | { ok: false; refusal: Refusal };

const refuse = (order: OrderSnapshot, code: RefusalCode, detail: string): Decision => ({
  ok: false,
  refusal: { code, detail, current_status: order.status },
});

const allow = (order: OrderSnapshot, to: OrderStatus, kind: EventKind, courierId: string | null, actor: Actor, reason?: string): Decision => ({
  ok: true,
  move: {
    orderId: order.id,
    fromVersion: order.version,
    from: order.status,
    to,
    kind,
    courierId,
    actor,
    reason: reason ?? null,
    followUpsOwed: kind === 'status',
  } as Move,
});

/** Who may hand an order to a courier: an admin (the manual override) and dispatch. */
const ASSIGNERS: readonly Actor['role'][] = ['admin', 'system'];

/**
 * The one decision for every change to an order's progress, by a person or by the system: given the
 * order as read, what is wanted and who wants it, the move to write or why not. Pure, so the
 * repository can make the write conditional on the version read and a lost race is decided again.
 */
export function decideMove(order: OrderSnapshot, intent: MoveIntent, actor: Actor, reason?: string): Decision {
  // While checkout runs its partner calls, the order belongs to checkout (and to the sweeper, for a
  // checkout whose process died): a person's move or an assignment would make checkout's own write lose.
  const checkoutRunning = order.payment_state === 'pending' && order.status === 'placed';

  if ('assign' in intent) {
    if (!ASSIGNERS.includes(actor.role)) return refuse(order, 'forbidden', `A ${actor.role} cannot assign a courier.`);
    if (!canAssignCourier(order.status)) {
      return refuse(order, 'illegal', `The order is ${order.status}; a courier can no longer be assigned.`);
    }
    if (checkoutRunning) return refuse(order, 'checkout_running', 'Checkout is still running for this order; try again in a moment.');
    return allow(order, order.status, 'courier_assigned', intent.assign, actor, reason);
  }

  if ('unassign' in intent) {
    if (!ASSIGNERS.includes(actor.role)) return refuse(order, 'forbidden', `A ${actor.role} cannot take an order from its courier.`);
    if (!canAssignCourier(order.status)) return refuse(order, 'illegal', `The order is ${order.status}; its courier keeps it.`);
    // Named, so a release decided on an old read cannot take the order from a courier assigned since.
    if (order.courier_id !== intent.unassign) return refuse(order, 'not_assigned', 'The order is not held by that courier.');
    if (checkoutRunning) return refuse(order, 'checkout_running', 'Checkout is still running for this order; try again in a moment.');
    return allow(order, order.status, 'courier_unassigned', intent.unassign, actor, reason);
  }

  const { to } = intent;
  const allowed = TRANSITIONS[order.status][to];
  if (!allowed) return refuse(order, 'illegal', `The order is ${order.status}; it cannot become ${to}.`);
  if (!allowed.includes(actor.role)) return refuse(order, 'forbidden', `A ${actor.role} cannot move an order from ${order.status} to ${to}.`);
  if (actor.role === 'courier' && order.courier_id !== actor.id) {
    return refuse(order, 'not_assigned', 'Only the courier assigned to this order can move it.');
  }
  if (checkoutRunning && actor.role !== 'system') {
    return refuse(order, 'checkout_running', 'Checkout is still running for this order; try again in a moment.');
  }
  if (to === 'confirmed' && order.payment_state !== 'authorized') {
    return refuse(order, 'payment_not_authorized', 'The payment for this order is not authorised.');
  }
  if (to === 'picked_up' && order.courier_id === null) return refuse(order, 'no_courier', 'No courier is assigned to this order.');
  return allow(order, to, 'status', null, actor, reason);
}

/**
 * Whether `next` is a step `decideMove` could have allowed right after `previous` (an event log's
 * consecutive entries): the same status for an assignment, a legal transition otherwise.
 */
export function isLegalStep(previous: OrderStatus, next: { kind: EventKind; from: OrderStatus | null; to: OrderStatus; role: Actor['role'] }) {
  if (next.from !== previous) return false;
  if (next.kind !== 'status') return next.to === previous && canAssignCourier(previous) && ASSIGNERS.includes(next.role);
  return TRANSITIONS[previous][next.to]?.includes(next.role) ?? false;
}
