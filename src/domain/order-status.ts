import type { ActorRole } from './identity.ts';

export const ORDER_STATUSES = [
  'placed',
  'confirmed',
  'preparing',
  'ready',
  'picked_up',
  'delivered',
  'payment_failed',
  'rejected',
  'cancelled',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The ends of an order that did not reach the customer: whatever the partners still hold is given back. */
export const FAILED_STATUSES = ['payment_failed', 'rejected', 'cancelled'] as const satisfies readonly OrderStatus[];

/**
 * What the payment gateway holds for an order, as dabba last learned it. `unknown`: a call ended
 * without an answer and may have reached the gateway; `not_sent`: it provably never left dabba.
 */
export const PAYMENT_STATES = ['pending', 'authorized', 'declined', 'unknown', 'not_sent', 'voided', 'captured'] as const;
export type PaymentState = (typeof PAYMENT_STATES)[number];
export type PosState = 'none' | 'pending' | 'accepted' | 'rejected' | 'unknown' | 'not_sent' | 'cancelled';

/**
 * Which status may follow which, and who may make each step. The rest of an order's rules (a
 * running checkout, an unauthorised payment, a missing courier) are in `decideMove` (order-moves.ts),
 * the one decision every write goes through.
 */
export const TRANSITIONS: Record<OrderStatus, Partial<Record<OrderStatus, readonly ActorRole[]>>> = {
  placed: {
    confirmed: ['restaurant', 'system', 'admin'],
    payment_failed: ['system'],
    rejected: ['restaurant', 'system', 'admin'],
    cancelled: ['customer', 'system', 'admin'],
  },
  confirmed: {
    preparing: ['restaurant', 'admin'],
    cancelled: ['customer', 'restaurant', 'system', 'admin'],
  },
  preparing: {
    ready: ['restaurant', 'admin'],
    cancelled: ['restaurant', 'system', 'admin'],
  },
  // Food nobody came for: dabba gives up on it past the pickup deadline (and an admin may).
  ready: { picked_up: ['courier', 'admin'], cancelled: ['system', 'admin'] },
  picked_up: { delivered: ['courier', 'admin'] },
  delivered: {},
  payment_failed: {},
  rejected: {},
  cancelled: {},
};

export function isFailed(status: OrderStatus): boolean {
  return (FAILED_STATUSES as readonly OrderStatus[]).includes(status);
}

/** A courier may be (re)assigned, or give the order back, until the food has left the restaurant. */
export const ASSIGNABLE_STATUSES = ['placed', 'confirmed', 'preparing', 'ready'] as const satisfies readonly OrderStatus[];

export function canAssignCourier(status: OrderStatus): boolean {
  return (ASSIGNABLE_STATUSES as readonly OrderStatus[]).includes(status);
}

/** A status nothing follows: delivered, or one of the failed ends. */
export const isFinal = (status: OrderStatus) => Object.keys(TRANSITIONS[status]).length === 0;
