import { type Kysely, sql } from 'kysely';

/**
 * Handing an order to a courier is a move like a status change (decided by the same rules, versioned,
 * logged), so it is an event too: `kind` tells the two apart, and an assignment keeps the status and
 * names the courier. Assignments owe no follow-ups.
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE order_events
      ADD COLUMN kind text NOT NULL DEFAULT 'status' CHECK (kind IN ('status', 'courier_assigned')),
      ADD COLUMN courier_id uuid REFERENCES users (id),
      ADD CONSTRAINT order_events_assignment_names_courier CHECK (kind = 'status' OR courier_id IS NOT NULL);
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`ALTER TABLE order_events DROP COLUMN courier_id, DROP COLUMN kind`.execute(db);
}
