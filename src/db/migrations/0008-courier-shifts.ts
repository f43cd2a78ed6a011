import { type Kysely, sql } from 'kysely';

/**
 * A courier's shift, as every node must agree on it:
 *
 * - `on_shift`: the courier said they are working (and has not gone silent since). Going on shift
 *   upserts the row, so a courier account without one (made by an admin or a test) gets it then.
 * - `shift_started_at`: when the current shift began (kept after it ends, for the record).
 * - `last_seen_at`: the newest accepted position, written in batches by the node holding the courier's
 *   connection; a courier on shift whose `last_seen_at` is older than COURIER_OFF_SHIFT_AFTER_MS is taken
 *   off shift by whichever node checks first.
 *
 * The partial index serves both questions asked of it: who is on shift (a node starting up) and who
 * on shift has gone silent (the periodic check); couriers off shift are most rows and never asked for.
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE couriers
      ADD COLUMN on_shift boolean NOT NULL DEFAULT false,
      ADD COLUMN shift_started_at timestamptz,
      ADD COLUMN last_seen_at timestamptz;
    CREATE INDEX couriers_on_shift_idx ON couriers (last_seen_at) WHERE on_shift;
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`
    DROP INDEX couriers_on_shift_idx;
    ALTER TABLE couriers DROP COLUMN on_shift, DROP COLUMN shift_started_at, DROP COLUMN last_seen_at;
  `.execute(db);
}
