import { type Kysely, sql } from 'kysely';

/**
 * `not_sent`: the call to the payment gateway (or the POS) provably never left dabba (breaker open,
 * bulkhead full), so the partner holds nothing for the order and compensation has nothing to undo.
 * Unlike `unknown`, which compensation settles by replaying the call under the same key.
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE orders DROP CONSTRAINT orders_payment_state_check, DROP CONSTRAINT orders_pos_state_check;
    ALTER TABLE orders
      ADD CONSTRAINT orders_payment_state_check
        CHECK (payment_state IN ('pending', 'authorized', 'declined', 'unknown', 'not_sent', 'voided', 'captured')),
      ADD CONSTRAINT orders_pos_state_check
        CHECK (pos_state IN ('none', 'pending', 'accepted', 'rejected', 'unknown', 'not_sent', 'cancelled'));
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`
    UPDATE orders SET payment_state = 'declined' WHERE payment_state = 'not_sent';
    UPDATE orders SET pos_state = 'rejected' WHERE pos_state = 'not_sent';
    ALTER TABLE orders DROP CONSTRAINT orders_payment_state_check, DROP CONSTRAINT orders_pos_state_check;
    ALTER TABLE orders
      ADD CONSTRAINT orders_payment_state_check
        CHECK (payment_state IN ('pending', 'authorized', 'declined', 'unknown', 'voided', 'captured')),
      ADD CONSTRAINT orders_pos_state_check
        CHECK (pos_state IN ('none', 'pending', 'accepted', 'rejected', 'unknown', 'cancelled'));
  `.execute(db);
}
