import { type Selectable, sql } from 'kysely';
import type { Principal } from '../../domain/identity.ts';
import type { Executor } from '../database.ts';
import type { OrderEventsTable } from '../tables.ts';
import { type OrderQuery, visibleTo } from './order.repository.ts';

/** An order's recorded move, as the live streams send it; ids are bigint, read as numbers (database.ts). */
export type OrderEvent = Pick<Selectable<OrderEventsTable>, 'order_id' | 'kind' | 'from_status' | 'to_status' | 'courier_id' | 'reason' | 'created_at'> & {
  id: number;
};

/**
 * Which transactions the statement's snapshot saw as still running: every transaction id below `xmin`
 * had ended, and none from `xmax` on had begun. Equal when nothing was running.
 * @see https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-PG-SNAPSHOT
 */
export interface Horizon {
  xmin: number;
  xmax: number;
}

const EVENT_COLUMNS = ['e.id', 'e.order_id', 'e.kind', 'e.from_status', 'e.to_status', 'e.courier_id', 'e.reason', 'e.created_at'] as const;
// xid8 has no JavaScript type; as text then bigint it parses as a number (exact below 2^53: epochs of 4 billion transactions).
const SNAPSHOT_XMIN = sql<number>`pg_snapshot_xmin(pg_current_snapshot())::text::bigint`;
const SNAPSHOT_XMAX = sql<number>`pg_snapshot_xmax(pg_current_snapshot())::text::bigint`;
const XMIN = SNAPSHOT_XMIN.as('xmin');
const XMAX = SNAPSHOT_XMAX.as('xmax');
const IN_PROGRESS = ['placed', 'confirmed', 'preparing', 'ready', 'picked_up'] as const;

/** The reads of the live streams: recorded moves after a given event, and the state they start from. */
export class OrderEventsRepository {
  private readonly db: Executor;

  constructor(db: Executor) {
    this.db = db;
  }

  /** One order's events after `afterId`, oldest first. */
  async forOrder(orderId: string, afterId: number, limit: number): Promise<OrderEvent[]> {
    const rows = await this.db
      .selectFrom('order_events as e')
      .select(EVENT_COLUMNS)
      .where('e.order_id', '=', orderId)
      .where('e.id', '>', String(afterId))
      .orderBy('e.id')
      .limit(limit)
      .execute();
    return rows.map((e) => ({ ...e, id: Number(e.id) }));
  }

  /**
   * The events of all of a restaurant's orders after `afterId`, oldest first, with the horizon of the
   * snapshot they were read in (undefined when there were none): ids are taken in the order moves
   * begin, not the order they commit, so a reader must know which smaller ids could still appear.
   */
  async forRestaurant(restaurantId: string, afterId: number, limit: number): Promise<{ events: OrderEvent[]; horizon?: Horizon }> {
    const rows = await this.db
      .selectFrom('order_events as e')
      .innerJoin('orders as o', 'o.id', 'e.order_id')
      .select(EVENT_COLUMNS)
      .select([XMIN, XMAX])
      .where('o.restaurant_id', '=', restaurantId)
      .where('e.id', '>', String(afterId))
      .orderBy('e.id')
      .limit(limit)
      .execute();
    const first = rows[0];
    return { events: rows.map(({ xmin: _, xmax: __, ...e }) => ({ ...e, id: Number(e.id) })), horizon: first && { xmin: first.xmin, xmax: first.xmax } };
  }

  /** The newest event id, and the horizon of the snapshot it was read in. */
  async latest(): Promise<{ maxId: number } & Horizon> {
    const row = await this.db
      .selectNoFrom((eb) => [eb.selectFrom('order_events').select((s) => s.fn.max('id').as('m')).as('max_id'), XMIN, XMAX])
      .executeTakeFirstOrThrow();
    return { maxId: Number(row.max_id ?? 0), xmin: row.xmin, xmax: row.xmax };
  }

  /** What tracking an order starts from, when `who` may see the order. */
  trackable(orderId: string, who: Principal) {
    return visibleTo(this.db.selectFrom('orders as o') as unknown as OrderQuery, who)
      .innerJoin('restaurants as r', 'r.id', 'o.restaurant_id')
      .select([
        'o.id',
        'o.status',
        'o.courier_id',
        'o.delivery_lat',
        'o.delivery_lng',
        'r.lat as restaurant_lat',
        'r.lng as restaurant_lng',
        'r.prep_minutes',
      ])
      .select((eb) =>
        eb
          .selectFrom('order_events as p')
          .select((s) => s.fn.max('p.created_at').as('at'))
          .whereRef('p.order_id', '=', 'o.id')
          .where('p.to_status', '=', 'preparing')
          .where('p.kind', '=', 'status')
          .as('preparing_since'),
      )
      .where('o.id', '=', orderId)
      .executeTakeFirst();
  }

  /** Whether the restaurant exists and `ownerId` owns it (any owner when undefined). */
  async restaurantVisible(restaurantId: string, ownerId: string | undefined) {
    const row = await this.db
      .selectFrom('restaurants')
      .select('id')
      .where('id', '=', restaurantId)
      .$if(ownerId !== undefined, (qb) => qb.where('owner_id', '=', ownerId!))
      .executeTakeFirst();
    return row !== undefined;
  }

  /** A restaurant's orders in progress, oldest first, with their lines, and the horizon of the snapshot. */
  async inProgressAt(restaurantId: string, limit: number) {
    const { rows } = await sql<{ orders: InProgressOrder[]; xmin: number; xmax: number }>`
      SELECT coalesce((
        SELECT json_agg(t ORDER BY t.created_at, t.id) FROM (
          SELECT o.id, o.status, o.customer_id, o.courier_id, o.total_cents, o.currency, o.delivery_address, o.notes,
                 o.eta_minutes, o.created_at, o.updated_at,
                 (SELECT coalesce(json_agg(json_build_object('name', i.name, 'quantity', i.quantity) ORDER BY i.line), '[]'::json)
                    FROM order_items i WHERE i.order_id = o.id) AS items
            FROM orders o
           WHERE o.restaurant_id = ${restaurantId} AND o.status = ANY(${[...IN_PROGRESS]}::text[])
           ORDER BY o.created_at, o.id
           LIMIT ${limit}) t), '[]'::json) AS orders,
        ${SNAPSHOT_XMIN} AS xmin, ${SNAPSHOT_XMAX} AS xmax`.execute(this.db);
    return rows[0]!;
  }

  /** Every order in flight in the city, where it comes from and goes to, oldest first. */
  inFlight(limit: number) {
    return this.db
      .selectFrom('orders as o')
      .innerJoin('restaurants as r', 'r.id', 'o.restaurant_id')
      .select(['o.id', 'o.status', 'o.courier_id', 'r.lat as restaurant_lat', 'r.lng as restaurant_lng', 'o.delivery_lat', 'o.delivery_lng'])
      .where('o.status', 'in', [...IN_PROGRESS])
      .orderBy('o.created_at')
      .limit(limit)
      .execute();
  }
}

export interface InProgressOrder {
  id: string;
  status: string;
  customer_id: string;
  courier_id: string | null;
  total_cents: number;
  currency: string;
  delivery_address: string;
  notes: string | null;
  eta_minutes: number | null;
  created_at: string;
  updated_at: string;
  items: { name: string; quantity: number }[];
}
