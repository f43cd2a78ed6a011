import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>) {
  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL,
      name text NOT NULL,
      role text NOT NULL CHECK (role IN ('customer', 'restaurant', 'courier', 'admin')),
      password_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_email_key ON users (lower(email));

    CREATE TABLE couriers (
      user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      vehicle text NOT NULL CHECK (vehicle IN ('bicycle', 'scooter', 'motorbike')),
      lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
      lng double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
      is_available boolean NOT NULL DEFAULT true,
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE restaurants (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id uuid NOT NULL REFERENCES users (id),
      name text NOT NULL,
      cuisine text NOT NULL,
      address text NOT NULL,
      lat double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
      lng double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
      delivery_radius_km double precision NOT NULL CHECK (delivery_radius_km > 0),
      prep_minutes integer NOT NULL CHECK (prep_minutes > 0),
      pos_integrated boolean NOT NULL DEFAULT false,
      is_open boolean NOT NULL DEFAULT true,
      rating numeric(2, 1) CHECK (rating BETWEEN 0 AND 5),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX restaurants_owner_idx ON restaurants (owner_id);
    CREATE INDEX restaurants_lat_lng_idx ON restaurants (lat, lng);

    CREATE TABLE menu_items (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      restaurant_id uuid NOT NULL REFERENCES restaurants (id) ON DELETE CASCADE,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      category text NOT NULL,
      price_cents integer NOT NULL CHECK (price_cents > 0),
      is_available boolean NOT NULL DEFAULT true,
      position integer NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX menu_items_restaurant_idx ON menu_items (restaurant_id, position);

    CREATE TABLE orders (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      customer_id uuid NOT NULL REFERENCES users (id),
      restaurant_id uuid NOT NULL REFERENCES restaurants (id),
      courier_id uuid REFERENCES users (id),
      status text NOT NULL CHECK (status IN ('placed', 'confirmed', 'preparing', 'ready', 'picked_up',
        'delivered', 'payment_failed', 'rejected', 'cancelled')),
      version integer NOT NULL DEFAULT 1,
      currency char(3) NOT NULL,
      subtotal_cents integer NOT NULL CHECK (subtotal_cents >= 0),
      delivery_fee_cents integer NOT NULL CHECK (delivery_fee_cents >= 0),
      total_cents integer NOT NULL CHECK (total_cents >= 0),
      delivery_lat double precision NOT NULL CHECK (delivery_lat BETWEEN -90 AND 90),
      delivery_lng double precision NOT NULL CHECK (delivery_lng BETWEEN -180 AND 180),
      delivery_address text NOT NULL,
      distance_km double precision NOT NULL,
      notes text,
      status_reason text,
      eta_minutes integer,
      idempotency_key text NOT NULL,
      request_hash text NOT NULL,
      -- millisecond precision: the list cursor carries created_at through a JS Date and back
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      updated_at timestamptz(3) NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX orders_idempotency_key ON orders (customer_id, idempotency_key);
    CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC, id DESC);
    CREATE INDEX orders_restaurant_idx ON orders (restaurant_id, created_at DESC, id DESC);
    CREATE INDEX orders_courier_idx ON orders (courier_id, created_at DESC, id DESC) WHERE courier_id IS NOT NULL;
    CREATE INDEX orders_status_idx ON orders (status, updated_at);

    CREATE TABLE order_items (
      order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
      line integer NOT NULL,
      menu_item_id uuid NOT NULL REFERENCES menu_items (id),
      name text NOT NULL,
      unit_price_cents integer NOT NULL CHECK (unit_price_cents > 0),
      quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 50),
      line_total_cents integer NOT NULL,
      PRIMARY KEY (order_id, line)
    );

    CREATE TABLE order_events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
      from_status text,
      to_status text NOT NULL,
      actor_id uuid REFERENCES users (id),
      actor_role text NOT NULL CHECK (actor_role IN ('customer', 'restaurant', 'courier', 'admin', 'system')),
      reason text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX order_events_order_idx ON order_events (order_id, id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`DROP TABLE order_events, order_items, orders, menu_items, restaurants, couriers, users`.execute(db);
}
