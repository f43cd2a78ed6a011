import { type Kysely, sql } from 'kysely';

/**
 * A courier who goes off shift (or goes silent) before picking an order up gives it back to dispatch:
 * a move like an assignment, logged as `courier_unassigned` with the courier it released, the status
 * unchanged. The order row's courier is cleared, so dispatch offers it to someone else.
 * `shift_ended_at` says when a shift ended, so the sweeper gives back exactly the orders assigned
 * before their courier left (an admin may still hand an order to a courier off shift on purpose).
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE order_events
      DROP CONSTRAINT order_events_kind_check,
      ADD CONSTRAINT order_events_kind_check CHECK (kind IN ('status', 'courier_assigned', 'courier_unassigned'));
    ALTER TABLE couriers ADD COLUMN shift_ended_at timestamptz;
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE couriers DROP COLUMN shift_ended_at;
    DELETE FROM order_events WHERE kind = 'courier_unassigned';
    ALTER TABLE order_events
      DROP CONSTRAINT order_events_kind_check,
      ADD CONSTRAINT order_events_kind_check CHECK (kind IN ('status', 'courier_assigned'));
  `.execute(db);
}
