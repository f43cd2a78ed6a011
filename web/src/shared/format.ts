import type { LinkState } from './live.ts';
import type { OrderStatus } from './types.ts';

const money = new Map<string, Intl.NumberFormat>();

/** Whole minor units (paise) as the currency reads: ₹1,234.50. */
export function formatMoney(cents: number, currency = 'INR') {
  let f = money.get(currency);
  if (!f) {
    f = new Intl.NumberFormat('en-IN', { style: 'currency', currency });
    money.set(currency, f);
  }
  return f.format(cents / 100);
}

export const formatTime = (at: string | number | Date) =>
  new Date(at).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const STATUS_LABEL: Record<OrderStatus, string> = {
  placed: 'Placed',
  confirmed: 'Confirmed',
  preparing: 'Preparing',
  ready: 'Ready for pick-up',
  picked_up: 'On its way',
  delivered: 'Delivered',
  payment_failed: 'Payment failed',
  rejected: 'Rejected',
  cancelled: 'Cancelled',
};

/** The server's own rule (a status no move leaves), so the page never disagrees with the stream about an order's end. */
export { isFinal } from '../../../src/domain/order-status.ts';

export const LINK_LABEL: Record<LinkState, string> = {
  connecting: 'Connecting…',
  open: 'Live',
  retrying: 'Reconnecting…',
  ended: 'Ended',
  'signed-out': 'Signed out',
  replaced: 'Opened in another tab',
};

/** An id short enough to read aloud: its first eight characters. */
export const shortId = (id: string) => id.slice(0, 8);
