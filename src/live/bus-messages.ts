import type { OrderStatus } from '../domain/order-status.ts';

/**
 * What nodes tell each other, one channel per kind of news. Every node hears every message on a
 * channel (its own included) and keeps what concerns the connections and leases it holds. The bus may
 * lose a message (NATS core is at-most-once): status events are read again from `order_events` by
 * anyone who must not miss one, so a lost `order.moved` only delays a watcher until the next nudge
 * or reconnect; a lost position is replaced by the next one a second later.
 */
export interface BusChannels {
  /** An order's status changed or a courier was assigned; `event_id` is the `order_events` row just written. */
  'order.moved': {
    order_id: string;
    restaurant_id: string;
    customer_id: string;
    courier_id: string | null;
    status: OrderStatus;
    version: number;
  };
  /** A courier's accepted position (validated and rate-capped by the node holding its socket). */
  'courier.position': { courier_id: string; lat: number; lng: number; at: number };
  /** A courier went on or off shift (by their own request, or off after going silent). */
  'courier.shift': { courier_id: string; on_shift: boolean; lat: number | null; lng: number | null; at: number };
  /** The zone's dispatcher offers an order to a courier; the node holding the courier's socket delivers it. */
  'dispatch.offer': {
    offer_id: string;
    courier_id: string;
    order_id: string;
    zone: string;
    expires_at: number;
    pickup: { restaurant_id: string; name: string; lat: number; lng: number };
    dropoff: { lat: number; lng: number; address: string };
    pickup_km: number;
    delivery_km: number;
  };
  /** A courier's answer, relayed by the node holding its socket to whichever node leads the offer's zone. */
  'dispatch.answer': { offer_id: string; courier_id: string; zone: string; accept: boolean };
  /** The dispatcher closed an offer: the courier is told the outcome (assigned, or why not). */
  'dispatch.offer_closed': {
    offer_id: string;
    courier_id: string;
    order_id: string;
    outcome: 'assigned' | 'declined' | 'expired' | 'withdrawn';
  };
  /** An account logged out everywhere: the node holding its live connections ends them at once. */
  'account.signed_out': { user_id: string };
}

export type Channel = keyof BusChannels;
