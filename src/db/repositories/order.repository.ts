import { type SelectQueryBuilder, type Selectable, sql } from 'kysely';
import type { OrderStatus } from '../../domain/order-status.ts';
import type { Principal } from '../../services/token.service.ts';
import type { Executor } from '../database.ts';
import type { ActorRole, Database, NewOrder, OrderItemsTable } from '../tables.ts';

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
  'o.created_at',
  'o.updated_at',
] as const;

type OrderQuery = SelectQueryBuilder<Database & { o: Database['orders'] }, 'o', object>;

/** Items come back inside the order row as JSON, so an order and its lines are always one query. */
const withItems = sql<OrderItem[]>`(
  SELECT coalesce(json_agg(json_build_object(
    'line', i.line, 'menu_item_id', i.menu_item_id, 'name', i.name, 'unit_price_cents', i.unit_price_cents,
    'quantity', i.quantity, 'line_total_cents', i.line_total_cents) ORDER BY i.line), '[]'::json)
  FROM order_items i WHERE i.order_id = o.id)`.as('items');

/** Who sees which orders: written once, applied to every read and every write. */
function visibleTo(qb: OrderQuery, who: Principal): OrderQuery {
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

export interface StatusChange {
  orderId: string;
  fromVersion: number;
  from: OrderStatus;
  to: OrderStatus;
  actorId: string | null;
  actorRole: ActorRole;
  reason?: string;
  courierId?: string;
}

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

  /** Inserts the order, its lines and its first event; the caller provides the transaction. */
  async insert(tx: Executor, order: NewOrder, items: Omit<OrderItem, 'line'>[], actor: { id: string; role: ActorRole }) {
    const { id } = await tx.insertInto('orders').values(order).returning('id').executeTakeFirstOrThrow();
    await tx
      .insertInto('order_items')
      .values(items.map((item, i) => ({ ...item, order_id: id, line: i + 1 })))
      .execute();
    await tx
      .insertInto('order_events')
      .values({ order_id: id, from_status: null, to_status: order.status, actor_id: actor.id, actor_role: actor.role })
      .execute();
    return id;
  }

  /**
   * Moves an order only if nobody else has since it was read (version check), and records the
   * event in the same statement. Returns false when the version moved on: the caller re-reads.
   */
  async changeStatus(change: StatusChange, db: Executor = this.db): Promise<boolean> {
    const result = await db
      .with('moved', (w) =>
        w
          .updateTable('orders')
          .set((eb) => ({
            status: change.to,
            version: eb('version', '+', 1),
            status_reason: change.reason ?? null,
            updated_at: sql`now()`,
            ...(change.courierId !== undefined ? { courier_id: change.courierId } : {}),
          }))
          .where('id', '=', change.orderId)
          .where('version', '=', change.fromVersion)
          .where('status', '=', change.from)
          .returning('id'),
      )
      .insertInto('order_events')
      .columns(['order_id', 'from_status', 'to_status', 'actor_id', 'actor_role', 'reason'])
      .expression((eb) =>
        eb
          .selectFrom('moved')
          .select((s) => [
            'moved.id',
            s.val(change.from).as('from_status'),
            s.val(change.to).as('to_status'),
            s.val(change.actorId).as('actor_id'),
            s.val(change.actorRole).as('actor_role'),
            s.val(change.reason ?? null).as('reason'),
          ]),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Assigning a courier is not a status change, but it still bumps the version so racing writes notice. */
  async assignCourier(orderId: string, fromVersion: number, courierId: string, db: Executor = this.db) {
    const result = await db
      .updateTable('orders')
      .set((eb) => ({ courier_id: courierId, version: eb('version', '+', 1), updated_at: sql`now()` }))
      .where('id', '=', orderId)
      .where('version', '=', fromVersion)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  events(orderId: string) {
    return this.db
      .selectFrom('order_events')
      .select(['from_status', 'to_status', 'actor_id', 'actor_role', 'reason', 'created_at'])
      .where('order_id', '=', orderId)
      .orderBy('id')
      .execute();
  }
}
