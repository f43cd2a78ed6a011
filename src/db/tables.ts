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
  /** Bumped by logout and (by trigger) by any change of role or password: older tokens are refused. */
  token_version: Generated<number>;
  created_at: Timestamp;
}

/** Failed sign-ins per lower(email), whether or not an account has that email (an attempt counts until it succeeds). */
export interface LoginFailuresTable {
  email_key: string;
  failures: number;
  window_started_at: Timestamp;
  locked_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface CouriersTable {
  user_id: string;
  vehicle: 'bicycle' | 'scooter' | 'motorbike';
  lat: number;
  lng: number;
  is_available: Generated<boolean>;
  updated_at: Timestamp;
  on_shift: Generated<boolean>;
  shift_started_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** When the last shift ended (off, or gone silent): what the sweeper compares an order's assignment with. */
  shift_ended_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The newest accepted position's time, written in batches; silence past COURIER_OFF_SHIFT_AFTER_MS ends the shift. */
  last_seen_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
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
  /** The last successful menu sync, and why the last attempt failed (null when it did not). */
  menu_synced_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  menu_sync_error: string | null;
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
  /** The item's id in the catalog (the restaurant's menu system); defaults to the item's own uuid. */
  catalog_item_id: Generated<string>;
  /** The catalog's price and availability as the last sync saw them; null: never seen. */
  catalog_price_cents: number | null;
  catalog_available: boolean | null;
  synced_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** One change of a menu item's name, price or availability, by the catalog sync or an owner. */
export interface MenuItemChangesTable {
  id: Generated<string>;
  menu_item_id: string;
  field: 'name' | 'price_cents' | 'is_available';
  old_value: string | number | boolean | null;
  new_value: string | number | boolean;
  source: 'catalog' | 'owner';
  actor_id: string | null;
  changed_at: Timestamp;
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
  login_failures: LoginFailuresTable;
  couriers: CouriersTable;
  restaurants: RestaurantsTable;
  menu_items: MenuItemsTable;
  menu_item_changes: MenuItemChangesTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  order_events: OrderEventsTable;
}

export type NewOrder = Insertable<OrdersTable>;
