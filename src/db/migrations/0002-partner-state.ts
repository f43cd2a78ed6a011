import { type Kysely, sql } from 'kysely';

/**
 * What dabba knows of each outside system's side of an order. `unknown` means a call ended without an
 * answer (timeout, crash): the compensation job settles it through the same idempotency key.
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE orders
      ADD COLUMN payment_state text NOT NULL DEFAULT 'pending'
        CHECK (payment_state IN ('pending', 'authorized', 'declined', 'unknown', 'voided', 'captured')),
      ADD COLUMN authorization_id text,
      ADD COLUMN pos_state text NOT NULL DEFAULT 'none'
        CHECK (pos_state IN ('none', 'pending', 'accepted', 'rejected', 'unknown', 'cancelled')),
      ADD COLUMN pos_order_id text;
    CREATE INDEX orders_stuck_idx ON orders (updated_at) WHERE status = 'placed';
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`
    DROP INDEX orders_stuck_idx;
    ALTER TABLE orders DROP COLUMN payment_state, DROP COLUMN authorization_id, DROP COLUMN pos_state, DROP COLUMN pos_order_id;
  `.execute(db);
}
