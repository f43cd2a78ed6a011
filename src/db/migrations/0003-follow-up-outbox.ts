import { type Kysely, sql } from 'kysely';

/**
 * The order's event log doubles as the outbox of its follow-up jobs: a status change marks its event
 * pending in the same statement that moves the order, and the relay turns pending events into pg-boss
 * jobs in batches. The partial index keeps finding them cheap however long the log grows.
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE order_events ADD COLUMN follow_ups_pending boolean NOT NULL DEFAULT false;
    CREATE INDEX order_events_follow_ups_idx ON order_events (id) WHERE follow_ups_pending;
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`
    DROP INDEX order_events_follow_ups_idx;
    ALTER TABLE order_events DROP COLUMN follow_ups_pending;
  `.execute(db);
}
