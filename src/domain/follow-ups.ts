import { type OrderStatus, isFailed } from './order-status.ts';

/** The kinds of durable work a status change can leave behind; each is one job queue. */
export const FOLLOW_UPS = ['notify', 'capture', 'compensate'] as const;
export type FollowUp = (typeof FOLLOW_UPS)[number];

/**
 * The durable work a status change leaves behind, owed from the moment the change commits: every
 * change is announced; delivery captures the payment; a failed or cancelled order gives back
 * whatever the outside systems still hold (authorisation voided, POS order cancelled).
 */
export function followUps(to: OrderStatus): FollowUp[] {
  if (to === 'delivered') return ['notify', 'capture'];
  if (isFailed(to)) return ['notify', 'compensate'];
  return ['notify'];
}
