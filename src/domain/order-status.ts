import type { ActorRole } from '../db/tables.ts';

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

/**
 * The only description of how an order may move, and who may move it. Every status write checks
 * here first; the repository then makes the write conditional on the version it read.
 */
const TRANSITIONS: Record<OrderStatus, Partial<Record<OrderStatus, readonly ActorRole[]>>> = {
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
  ready: { picked_up: ['courier', 'admin'] },
  picked_up: { delivered: ['courier', 'admin'] },
  delivered: {},
  payment_failed: {},
  rejected: {},
  cancelled: {},
};

export type TransitionCheck = { ok: true } | { ok: false; reason: 'illegal' | 'forbidden' };

export function checkTransition(from: OrderStatus, to: OrderStatus, actor: ActorRole): TransitionCheck {
  const allowed = TRANSITIONS[from][to];
  if (!allowed) return { ok: false, reason: 'illegal' };
  return allowed.includes(actor) ? { ok: true } : { ok: false, reason: 'forbidden' };
}

export function isTerminal(status: OrderStatus): boolean {
  return Object.keys(TRANSITIONS[status]).length === 0;
}

/** A courier may be (re)assigned until the food has left the restaurant. */
export function canAssignCourier(status: OrderStatus): boolean {
  return status === 'placed' || status === 'confirmed' || status === 'preparing' || status === 'ready';
}
