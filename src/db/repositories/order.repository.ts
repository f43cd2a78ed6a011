import { type SelectQueryBuilder, type Selectable, sql } from 'kysely';
import type { Actor, Principal } from '../../domain/identity.ts';
import type { Move, OrderSnapshot } from '../../domain/order-moves.ts';
import { ASSIGNABLE_STATUSES, type OrderStatus, type PaymentState, type PosState } from '../../domain/order-status.ts';
import type { Executor } from '../database.ts';
import type { Database, MenuItemsTable, NewOrder, OrderItemsTable, OrdersTable, RestaurantsTable } from '../tables.ts';

const ORDER_COLUMNS = [
  'o.id',
  'o.status',
  'o.version',
  'o.customer_id',
  'o.restaurant_id',
  'o.courier_id',
  'o.currency',
  'o.subtotal_cents',
  'o.delivery_fee_cents',
  'o.total_cents',
  'o.delivery_lat',
  'o.delivery_lng',
  'o.delivery_address',
  'o.distance_km',
  'o.notes',
  'o.status_reason',
  'o.eta_minutes',
  'o.payment_state',
  'o.created_at',
  'o.updated_at',
] as const;

export type OrderQuery = SelectQueryBuilder<Database & { o: Database['orders'] }, 'o', object>;

/** Items come back inside the order row as JSON, so an order and its lines are always one query. */
const withItems = sql<OrderItem[]>`(
  SELECT coalesce(json_agg(json_build_object(
    'line', i.line, 'menu_item_id', i.menu_item_id, 'name', i.name, 'unit_price_cents', i.unit_price_cents,
    'quantity', i.quantity, 'line_total_cents', i.line_total_cents) ORDER BY i.line), '[]'::json)
  FROM order_items i WHERE i.order_id = o.id)`.as('items');

/** Who sees which orders: written once, applied to every read and every write. */
export function visibleTo(qb: OrderQuery, who: Principal): OrderQuery {
  switch (who.role) {
    case 'admin':
      return qb;
    case 'customer':
      return qb.where('o.customer_id', '=', who.id);
    case 'courier':
      return qb.where('o.courier_id', '=', who.id);
    case 'restaurant':
      return qb.where('o.restaurant_id', 'in', (eb) =>
        eb.selectFrom('restaurants').select('id').where('owner_id', '=', who.id),
      );
  }
}

export type OrderItem = Omit<Selectable<OrderItemsTable>, 'order_id'>;

export interface PlacementContext {
  earlier: { id: string; request_hash: string } | null;
  restaurant: Pick<Selectable<RestaurantsTable>, 'id' | 'is_open' | 'lat' | 'lng' | 'delivery_radius_km' | 'prep_minutes' | 'pos_integrated'> | null;
  menu: Pick<Selectable<MenuItemsTable>, 'id' | 'name' | 'price_cents' | 'is_available' | 'catalog_item_id' | 'catalog_available'>[];
}

/** Columns that record what the outside systems hold for an order; only checkout and jobs write them. */
export type PartnerState = Partial<
  Pick<OrdersTable, 'authorization_id' | 'pos_order_id' | 'eta_minutes'> & { payment_state: PaymentState; pos_state: PosState }
>;

/** The order as a move leaves it: what every read of an order returns. */
export type OrderView = NonNullable<Awaited<ReturnType<OrderRepository['findVisible']>>>;

const isDuplicateKey = (err: unknown) =>
  (err as { code?: string; constraint?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'orders_idempotency_key';

export class OrderRepository {
  private readonly db: Executor;

  constructor(db: Executor) {
    this.db = db;
  }

  #orders(db: Executor = this.db) {
    return db.selectFrom('orders as o') as unknown as OrderQuery;
  }

  findVisible(id: string, who: Principal, db: Executor = this.db) {
    return visibleTo(this.#orders(db), who)
      .select(ORDER_COLUMNS)
      .select(withItems)
      .where('o.id', '=', id)
      .executeTakeFirst();
  }

  /** What deciding a move reads: the order's status, version, payment and courier, when `who` (if given) may see it. */
  findSnapshot(id: string, who?: Principal, db: Executor = this.db): Promise<OrderSnapshot | undefined> {
    const orders = this.#orders(db);
    return (who ? visibleTo(orders, who) : orders)
      .select(['o.id', 'o.status', 'o.version', 'o.payment_state', 'o.courier_id'])
      .where('o.id', '=', id)
      .executeTakeFirst();
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  listVisible(who: Principal, limit: number, before?: { createdAt: string; id: string }) {
    return visibleTo(this.#orders(), who)
      .select(ORDER_COLUMNS)
      .select(withItems)
      .$if(before !== undefined, (qb) =>
        qb.where(sql<boolean>`(o.created_at, o.id) < (${before!.createdAt}::timestamptz, ${before!.id}::uuid)`),
      )
      .orderBy('o.created_at', 'desc')
      .orderBy('o.id', 'desc')
      .limit(limit)
      .execute();
  }

  findByIdempotencyKey(customerId: string, key: string, db: Executor = this.db) {
    return db
      .selectFrom('orders')
      .select(['id', 'request_hash'])
      .where('customer_id', '=', customerId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
  }

  /**
   * Everything placing an order must read, in one round trip: an earlier order under the same
   * Idempotency-Key, the restaurant, and the ordered dishes of its menu. Each part comes back as
   * JSON in a single row, so a missing restaurant still reports the replay check.
   */
  async placementContext(q: { customerId: string; idempotencyKey: string; restaurantId: string; itemIds: readonly string[] }) {
    const { rows } = await sql<PlacementContext>`
      SELECT
        (SELECT json_build_object('id', o.id, 'request_hash', o.request_hash) FROM orders o
          WHERE o.customer_id = ${q.customerId} AND o.idempotency_key = ${q.idempotencyKey}) AS earlier,
        (SELECT json_build_object('id', r.id, 'is_open', r.is_open, 'lat', r.lat, 'lng', r.lng,
                  'delivery_radius_km', r.delivery_radius_km, 'prep_minutes', r.prep_minutes, 'pos_integrated', r.pos_integrated)
           FROM restaurants r WHERE r.id = ${q.restaurantId}) AS restaurant,
        (SELECT coalesce(json_agg(json_build_object('id', m.id, 'name', m.name, 'price_cents', m.price_cents, 'is_available', m.is_available,
                  'catalog_item_id', m.catalog_item_id, 'catalog_available', m.catalog_available)), '[]'::json)
           FROM menu_items m WHERE m.restaurant_id = ${q.restaurantId} AND m.id = ANY(${q.itemIds as string[]}::uuid[])) AS menu
    `.execute(this.db);
    return rows[0]!;
  }

  /**
   * Inserts the order, its lines and its first event as one statement (data-modifying CTEs), so it is
   * atomic without a transaction and costs one round trip. The id is chosen here so every part can
   * name it; foreign keys are checked at the end of the statement, when the order row exists.
   * `duplicate` when the customer already has an order under this Idempotency-Key (a racing request won).
   */
  async insert(order: NewOrder & { id: string }, items: Omit<OrderItem, 'line'>[], actor: Actor): Promise<'inserted' | 'duplicate'> {
    try {
      await this.db
        .with('o', (db) => db.insertInto('orders').values(order).returning('id'))
        .with('i', (db) => db.insertInto('order_items').values(items.map((item, i) => ({ ...item, order_id: order.id, line: i + 1 }))).returning('line'))
        .insertInto('order_events')
        .values({ order_id: order.id, from_status: null, to_status: order.status, actor_id: actor.id, actor_role: actor.role })
        .execute();
      return 'inserted';
    } catch (err) {
      if (isDuplicateKey(err)) return 'duplicate';
      throw err;
    }
  }

  /**
   * The only write of an order's progress. Applies a decided move only if nobody else has moved the
   * order since it was read (version check), records its event, with any follow-ups marked pending
   * (the outbox the relay reads), and returns the order as it now is: one statement, atomic without a
   * transaction. Undefined when the version moved on: the caller re-reads and decides again.
   */
  changeStatus(move: Move, patch: PartnerState = {}, db: Executor = this.db) {
    // An assignment names the order's courier, a release clears it; neither has a status reason.
    const courier = move.kind === 'courier_assigned' ? { courier_id: move.courierId } : move.kind === 'courier_unassigned' ? { courier_id: null } : undefined;
    return db
      .with('moved', (w) =>
        w
          .updateTable('orders')
          .set((eb) => ({
            status: move.to,
            version: eb('version', '+', 1),
            updated_at: sql`now()`,
            ...(courier ?? { status_reason: move.reason }),
            ...patch,
          }))
          .where('id', '=', move.orderId)
          .where('version', '=', move.fromVersion)
          .where('status', '=', move.from)
          .returningAll(),
      )
      .with('event', (w) =>
        w
          .insertInto('order_events')
          .columns(['order_id', 'kind', 'from_status', 'to_status', 'courier_id', 'actor_id', 'actor_role', 'reason', 'follow_ups_pending'])
          .expression((eb) =>
            eb
              .selectFrom('moved')
              .select((s) => [
                'moved.id',
                s.val(move.kind).as('kind'),
                s.val(move.from).as('from_status'),
                s.val(move.to).as('to_status'),
                s.val(move.courierId).as('courier_id'),
                s.val(move.actor.id).as('actor_id'),
                s.val(move.actor.role).as('actor_role'),
                s.val(move.reason).as('reason'),
                s.val(move.followUpsOwed).as('follow_ups_pending'),
              ]),
          ),
      )
      .selectFrom('moved as o')
      .select(ORDER_COLUMNS)
      .select(withItems)
      .executeTakeFirst();
  }

  /**
   * Records partner outcomes without a status change. Not versioned: these columns have one writer at a
   * time (checkout, then the jobs), and nobody's status decision depends on reading them unchanged.
   */
  async recordPartnerState(orderId: string, patch: PartnerState, onlyIfStatus?: OrderStatus, db: Executor = this.db) {
    const result = await db
      .updateTable('orders')
      .set({ ...patch, updated_at: sql`now()` })
      .where('id', '=', orderId)
      .$if(onlyIfStatus !== undefined, (qb) => qb.where('status', '=', onlyIfStatus!))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Who hears about these orders' changes: one indexed join for a whole batch of notifications. */
  recipients(orderIds: readonly string[]) {
    if (orderIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('orders as o')
      .innerJoin('users as c', 'c.id', 'o.customer_id')
      .select(['o.id', 'c.email'])
      // One array parameter rather than IN ($1, $2, …): the same statement text for any batch size, so it stays prepared.
      .where('o.id', '=', sql<string>`ANY(${[...orderIds]}::uuid[])`)
      .execute();
  }

  /** What checkout and the follow-up jobs need: the order, its lines, and where the food comes from. */
  forFulfilment(orderId: string, db: Executor = this.db) {
    return (db.selectFrom('orders as o') as unknown as OrderQuery)
      .innerJoin('restaurants as r', 'r.id', 'o.restaurant_id')
      .select([
        'o.id',
        'o.status',
        'o.version',
        'o.total_cents',
        'o.currency',
        'o.restaurant_id',
        'o.delivery_lat',
        'o.delivery_lng',
        'o.payment_state',
        'o.authorization_id',
        'o.pos_state',
        'o.pos_order_id',
        'r.lat as restaurant_lat',
        'r.lng as restaurant_lng',
        'r.prep_minutes',
        'r.pos_integrated',
      ])
      .select(withItems)
      .where('o.id', '=', orderId)
      .executeTakeFirst();
  }

  /** Orders confirmed before `before` that no courier has picked up: the sweeper cancels them. */
  findUnpicked(opts: { before: Date; limit: number }) {
    return (this.db.selectFrom('orders as o') as unknown as OrderQuery)
      .select(['o.id', 'o.status', 'o.version', 'o.payment_state', 'o.courier_id'])
      .where('o.status', 'in', ['confirmed', 'preparing', 'ready'])
      .where('o.created_at', '<', opts.before)
      .orderBy('o.created_at')
      .limit(opts.limit)
      .execute();
  }

  /**
   * Orders a courier holds but has not picked up, assigned before that courier's shift ended (went off,
   * went silent, or did so while the node giving them back died): the sweeper gives them back to
   * dispatch. An assignment made after the shift ended is an admin's choice, and stays.
   */
  findStranded(opts: { limit: number }) {
    return (this.db.selectFrom('orders as o') as unknown as OrderQuery)
      .innerJoin('couriers as c', 'c.user_id', 'o.courier_id')
      .select(['o.id', 'o.status', 'o.version', 'o.payment_state', 'o.courier_id'])
      .where('o.status', 'in', ASSIGNABLE_STATUSES)
      .where('c.on_shift', '=', false)
      .where(
        (eb) =>
          eb
            .selectFrom('order_events as e')
            .select((s) => s.fn.max('e.created_at').as('at'))
            .whereRef('e.order_id', '=', 'o.id')
            .where('e.kind', '=', 'courier_assigned'),
        '<',
        sql<Date>`c.shift_ended_at`,
      )
      .orderBy('o.created_at')
      .limit(opts.limit)
      .execute();
  }

  /**
   * Orders that made no progress in time: a checkout that never finished (its process died), or a
   * tablet restaurant that never answered. The sweeper resolves each through the state machine.
   */
  findStuck(opts: { checkoutBefore: Date; tabletBefore: Date; limit: number }) {
    return (this.db.selectFrom('orders as o') as unknown as OrderQuery)
      .innerJoin('restaurants as r', 'r.id', 'o.restaurant_id')
      .select(['o.id', 'o.status', 'o.version', 'o.payment_state', 'o.courier_id', 'r.pos_integrated'])
      .where('o.status', '=', 'placed')
      .where((eb) =>
        eb.or([
          eb.and([eb('o.payment_state', 'in', ['pending', 'unknown']), eb('o.updated_at', '<', opts.checkoutBefore)]),
          eb.and([eb('r.pos_integrated', '=', true), eb('o.updated_at', '<', opts.checkoutBefore)]),
          eb.and([eb('r.pos_integrated', '=', false), eb('o.created_at', '<', opts.tabletBefore)]),
        ]),
      )
      .orderBy('o.updated_at')
      .limit(opts.limit)
      .execute();
  }
}
