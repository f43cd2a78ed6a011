/**
 * The API's shapes, read from the server's own TypeBox schemas (type-only imports: nothing of the
 * server reaches the bundle). The streams' events that the server describes in prose are declared
 * here, after src/routes/streams/schema.ts.
 */
import type { Static } from 'typebox';
import type { ClientMessage, ServerMessage } from '../../../src/live/courier-messages.ts';
import type { HealthSample } from '../../../src/ops/health-sample.ts';
import type { Login, User as UserSchema } from '../../../src/routes/auth/schema.ts';
import type { GetFeed } from '../../../src/routes/feed/schema.ts';
import type { Order as OrderSchema, PlaceOrderBody as PlaceOrderSchema } from '../../../src/routes/orders/schema.ts';
import type { GetMenu, MenuItem as MenuItemSchema, Restaurant as RestaurantSchema } from '../../../src/routes/restaurants/schema.ts';
import type { Problem as ProblemSchema } from '../../../src/routes/shared.schema.ts';

export type { ClientMessage, HealthSample, ServerMessage };
export type Role = Static<typeof UserSchema>['role'];
export type User = Static<typeof UserSchema>;
export type Session = Static<(typeof Login)['response'][200]>;
export type Order = Static<typeof OrderSchema>;
export type OrderStatus = Order['status'];
export type PlaceOrderBody = Static<typeof PlaceOrderSchema>;
export type Restaurant = Static<typeof RestaurantSchema>;
export type MenuItem = Static<typeof MenuItemSchema>;
export type Menu = Static<(typeof GetMenu)['response'][200]>;
export type Feed = Static<(typeof GetFeed)['response'][200]>;
export type FeedEntry = Feed['items'][number];
export type Problem = Static<typeof ProblemSchema>;
export type Offer = Extract<ServerMessage, { type: 'offer' }>;

export interface LatLng {
  lat: number;
  lng: number;
}

/** `event: status` of the track and restaurant streams. */
export interface StatusEvent {
  order_id: string;
  event_id: number;
  kind: 'status' | 'courier_assigned' | 'courier_unassigned';
  from: OrderStatus | null;
  to: OrderStatus;
  courier_id: string | null;
  reason: string | null;
  at: string;
}

/** `event: position` and `event: eta` of the track stream. */
export interface PositionEvent extends LatLng {
  order_id: string;
  courier_id: string;
  at: number;
}
export interface EtaEvent {
  order_id: string;
  minutes: number;
  at: number;
}

/** `event: snapshot` of the restaurant stream: its orders in progress. */
export interface RestaurantSnapshot {
  restaurant_id: string;
  as_of_event_id: number;
  orders: BoardOrder[];
  truncated: boolean;
}
export interface BoardOrder {
  id: string;
  status: OrderStatus;
  customer_id: string;
  courier_id: string | null;
  total_cents: number;
  currency: string;
  delivery_address: string;
  notes: string | null;
  eta_minutes: number | null;
  created_at: string;
  items: { name: string; quantity: number }[];
}

export type CourierState = 'available' | 'offered' | 'busy' | 'stale';

/** `event: city` of the ops stream. */
export interface CitySample {
  at: number;
  couriers: (LatLng & { id: string; state: CourierState; at: number })[];
  orders: {
    id: string;
    status: OrderStatus;
    courier_id: string | null;
    restaurant_lat: number;
    restaurant_lng: number;
    delivery_lat: number;
    delivery_lng: number;
  }[];
  orders_truncated: boolean;
}
