import { sql } from 'kysely';
import type { Point } from '../../domain/geo.ts';
import { ORDER_STATUSES, TRANSITIONS } from '../../domain/order-status.ts';
import type { Executor } from '../database.ts';

/** A courier's accepted position, as the node that accepted it timed it. */
export interface Fix extends Point {
  courierId: string;
  at: Date;
}

/** Where a courier's order still holds them: every status an order can still leave. */
const HOLDING_STATUSES = ORDER_STATUSES.filter((s) => Object.keys(TRANSITIONS[s]).length > 0);

/** A courier account without a row is given this vehicle when it first goes on shift; an admin may change it. */
const DEFAULT_VEHICLE = 'scooter';

export class CourierRepository {
  private readonly db: Executor;

  constructor(db: Executor) {
    this.db = db;
  }

  /**
   * Puts the courier on shift, at `at` when given, else where they were last seen. A courier account
   * without a row gets one, which needs a position: undefined when there is neither row nor position.
   * A courier already on shift keeps the shift's start. `fixed_at` is when the position was true: now
   * for a given one, the last sighting's time for a remembered one (so it is not taken for fresh).
   */
  async startShift(courierId: string, at: Point | undefined) {
    const lat = at?.lat ?? null;
    const lng = at?.lng ?? null;
    const { rows } = await sql<{ lat: number; lng: number; shift_started_at: Date; fixed_at: Date }>`
      WITH updated AS (
        UPDATE couriers c SET
          on_shift = true,
          shift_started_at = CASE WHEN c.on_shift THEN c.shift_started_at ELSE now() END,
          lat = coalesce(${lat}::float8, c.lat),
          lng = coalesce(${lng}::float8, c.lng),
          last_seen_at = now(),
          updated_at = now()
        FROM couriers old
        WHERE c.user_id = ${courierId} AND old.user_id = c.user_id
        RETURNING c.lat, c.lng, c.shift_started_at,
          CASE WHEN ${lat}::float8 IS NULL THEN coalesce(old.last_seen_at, old.updated_at) ELSE now() END AS fixed_at
      ), inserted AS (
        INSERT INTO couriers (user_id, vehicle, lat, lng, on_shift, shift_started_at, last_seen_at)
        SELECT ${courierId}, ${DEFAULT_VEHICLE}, ${lat}::float8, ${lng}::float8, true, now(), now()
         WHERE ${lat}::float8 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM updated)
        ON CONFLICT (user_id) DO UPDATE SET on_shift = true, shift_started_at = now(), lat = EXCLUDED.lat, lng = EXCLUDED.lng,
          last_seen_at = now(), updated_at = now()
        RETURNING lat, lng, shift_started_at, now() AS fixed_at
      )
      SELECT * FROM updated UNION ALL SELECT * FROM inserted`.execute(this.db);
    return rows[0];
  }

  /** Takes the courier off shift (if they were on it). */
  async endShift(courierId: string) {
    await this.db
      .updateTable('couriers')
      .set({ on_shift: false, shift_ended_at: sql`now()`, updated_at: sql`now()` })
      .where('user_id', '=', courierId)
      .where('on_shift', '=', true)
      .execute();
  }

  /**
   * Every fix of a flush in one statement, whatever their number. A fix older than what the row holds
   * (written meanwhile by another node the courier moved to) is left out, so positions never go back in time.
   */
  async writePositions(fixes: readonly Fix[]) {
    if (fixes.length === 0) return;
    await sql`
      UPDATE couriers c SET lat = f.lat, lng = f.lng, last_seen_at = f.at, updated_at = now()
        FROM unnest(${fixes.map((f) => f.courierId)}::uuid[], ${fixes.map((f) => f.lat)}::float8[],
                    ${fixes.map((f) => f.lng)}::float8[], ${fixes.map((f) => f.at)}::timestamptz[]) AS f (user_id, lat, lng, at)
       WHERE c.user_id = f.user_id AND (c.last_seen_at IS NULL OR c.last_seen_at < f.at)`.execute(this.db);
  }

  /** Couriers on shift and where they were last seen: what a node starting up knows of them. */
  onShift() {
    return this.db
      .selectFrom('couriers')
      .select(['user_id', 'lat', 'lng', 'last_seen_at', 'shift_started_at'])
      .where('on_shift', '=', true)
      .execute();
  }

  async isOnShift(courierId: string) {
    const row = await this.db.selectFrom('couriers').select('on_shift').where('user_id', '=', courierId).executeTakeFirst();
    return row?.on_shift === true;
  }

  /**
   * Ends the shift of every courier not seen for `silentForMs`, returning who. Safe for any number of
   * nodes to run at once: each row is taken off shift by one of them, and only that one names it.
   */
  async endSilentShifts(silentForMs: number) {
    const rows = await sql<{ user_id: string; lat: number; lng: number }>`
      UPDATE couriers SET on_shift = false, shift_ended_at = now(), updated_at = now()
       WHERE on_shift AND (last_seen_at < now() - make_interval(secs => ${silentForMs / 1000}) OR last_seen_at IS NULL)
      RETURNING user_id, lat, lng`.execute(this.db);
    return rows.rows;
  }

  /** The orders one courier holds now (assigned, not yet at an end), oldest first. */
  heldBy(courierId: string) {
    return this.db
      .selectFrom('orders')
      .select(['id', 'status'])
      .where('courier_id', '=', courierId)
      .where('status', 'in', HOLDING_STATUSES)
      .orderBy('created_at')
      .execute();
  }

  /** The orders that hold a courier (assigned, not yet at an end), by courier. */
  activeAssignments() {
    return this.db
      .selectFrom('orders')
      .select(['id', 'courier_id'])
      .where('courier_id', 'is not', null)
      .where('status', 'in', HOLDING_STATUSES)
      .execute() as Promise<{ id: string; courier_id: string }[]>;
  }
}
