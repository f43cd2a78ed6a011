import { sql } from 'kysely';
import type { ExportedItem, ExportedOrder } from '../../domain/order-export-format.ts';
import type { CursorPool } from '../cursor-pool.ts';
import type { Db } from '../database.ts';

/** Each order's lines as JSON inside its row, so the export stays one query and one pass. */
const items = sql<ExportedItem[]>`(
  SELECT coalesce(json_agg(json_build_object(
    'name', i.name, 'quantity', i.quantity, 'unit_price_cents', i.unit_price_cents, 'line_total_cents', i.line_total_cents) ORDER BY i.line), '[]'::json)
  FROM order_items i WHERE i.order_id = o.id)`.as('items');

export interface ExportWindow {
  restaurantId: string;
  /** Inclusive. */
  from: Date;
  /** Exclusive: consecutive windows list every order once. */
  to: Date;
}

export class OrderExportRepository {
  readonly #db: Db;
  readonly #cursors: CursorPool;

  /** `db` builds the query (and is never used to run it); `cursors` streams it. */
  constructor(db: Db, cursors: CursorPool) {
    this.#db = db;
    this.#cursors = cursors;
  }

  /**
   * A restaurant's orders created in the window, oldest first (then by id, so ties keep one order), a
   * batch at a time. The order follows orders_restaurant_idx (restaurant_id, created_at DESC, id DESC)
   * read backwards: rows flow from the first batch on, with no sort of the whole window first.
   */
  batches(w: ExportWindow, batchSize: number): AsyncGenerator<ExportedOrder[], void, undefined> {
    const query = this.#db
      .selectFrom('orders as o')
      .select([
        'o.id',
        'o.created_at',
        'o.status',
        'o.payment_state',
        'o.currency',
        'o.subtotal_cents',
        'o.delivery_fee_cents',
        'o.total_cents',
        'o.delivery_address',
        'o.status_reason',
        items,
      ])
      .where('o.restaurant_id', '=', w.restaurantId)
      .where('o.created_at', '>=', w.from)
      .where('o.created_at', '<', w.to)
      .orderBy('o.created_at')
      .orderBy('o.id')
      .compile();
    return this.#cursors.batches(query, batchSize);
  }
}
