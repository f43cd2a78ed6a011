import type { OrderStatus } from './order-status.ts';

export type FollowUp = 'notify' | 'capture' | 'compensate';

/**
 * The durable work a status change leaves behind, written in the same transaction as the change:
 * every change is announced; delivery captures the payment; a failed or cancelled order gives back
 * whatever the outside systems still hold (authorisation voided, POS order cancelled).
 */
export function followUps(to: OrderStatus): FollowUp[] {
  switch (to) {
    case 'delivered':
      return ['notify', 'capture'];
    case 'cancelled':
    case 'rejected':
    case 'payment_failed':
      return ['notify', 'compensate'];
    default:
      return ['notify'];
  }
}
