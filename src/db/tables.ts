import type { ColumnType, Generated, Insertable } from 'kysely';
import type { ActorRole, Role } from '../domain/identity.ts';
import type { EventKind } from '../domain/order-moves.ts';
import type { OrderStatus, PaymentState, PosState } from '../domain/order-status.ts';

/** Table shapes as Kysely sees them; the database, not the API, is their source. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  created_at: Timestamp;
}

export interface CouriersTable {
  user_id: string;
  vehicle: 'bicycle' | 'scooter' | 'motorbike';
  lat: number;
  lng: number;
  is_available: Generated<boolean>;
  updated_at: Timestamp;
}

export interface RestaurantsTable {
  id: Generated<string>;
  owner_id: string;
  name: string;
  cuisine: string;
  address: string;
  lat: number;
  lng: number;
  delivery_radius_km: number;
  prep_minutes: number;
  pos_integrated: Generated<boolean>;
  is_open: Generated<boolean>;
  /** numeric(2,1): pg hands it over as a string; repositories select it as a number. */
  rating: ColumnType<string | null, number | null | undefined, number | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface MenuItemsTable {
  id: Generated<string>;
  restaurant_id: string;
  name: string;
  description: Generated<string>;
  category: string;
  price_cents: number;
  is_available: Generated<boolean>;
  position: Generated<number>;
  updated_at: Timestamp;
}

export interface OrdersTable {
  id: Generated<string>;
  customer_id: string;
  restaurant_id: string;
  courier_id: string | null;
  status: OrderStatus;
  version: Generated<number>;
  currency: string;
  subtotal_cents: number;
  delivery_fee_cents: number;
  total_cents: number;
  delivery_lat: number;
  delivery_lng: number;
  delivery_address: string;
  distance_km: number;
  notes: string | null;
  status_reason: string | null;
  eta_minutes: number | null;
  idempotency_key: string;
  request_hash: string;
  payment_state: Generated<PaymentState>;
  authorization_id: string | null;
  pos_state: Generated<PosState>;
  pos_order_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OrderItemsTable {
  order_id: string;
  line: number;
  menu_item_id: string;
  name: string;
  unit_price_cents: number;
  quantity: number;
  line_total_cents: number;
}

export interface OrderEventsTable {
  id: Generated<string>;
  order_id: string;
  kind: Generated<EventKind>;
  from_status: OrderStatus | null;
  to_status: OrderStatus;
  /** The courier an assignment handed the order to. */
  courier_id: string | null;
  actor_id: string | null;
  actor_role: ActorRole;
  reason: string | null;
  created_at: Timestamp;
  follow_ups_pending: Generated<boolean>;
}

export interface Database {
  users: UsersTable;
  couriers: CouriersTable;
  restaurants: RestaurantsTable;
  menu_items: MenuItemsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  order_events: OrderEventsTable;
}

export type NewOrder = Insertable<OrdersTable>;
