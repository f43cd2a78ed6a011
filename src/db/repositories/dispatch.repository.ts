import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/** Oldest first, at most this many per read: a backlog beyond it waits for the next round. */
const MAX_WAITING = 2_000;

export type WaitingOrder = Awaited<ReturnType<DispatchRepository['waitingOrders']>>[number];

/** What dispatch reads: where restaurants are (for zones) and the orders waiting for a courier. */
export class DispatchRepository {
  private readonly db: Executor;

  constructor(db: Executor) {
    this.db = db;
  }

  restaurantPoints() {
    return this.db.selectFrom('restaurants').select(['id', 'lat', 'lng']).execute();
  }

  /** Changes whenever a restaurant is added, removed or moved: cheaper to compare than the list itself. */
  async restaurantsFingerprint(): Promise<string> {
    const { rows } = await sql<{ n: number; s: number | null }>`SELECT count(*) AS n, sum(lat * 1000 + lng) AS s FROM restaurants`.execute(this.db);
    return `${rows[0]!.n}:${rows[0]!.s ?? 0}`;
  }

  /**
   * Orders of these restaurants that a courier could take (confirmed, preparing or ready, no courier yet),
   * with where to fetch and deliver them and since when they have been dispatchable (their confirmation).
   */
  waitingOrders(restaurantIds: readonly string[]) {
    if (restaurantIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('orders as o')
      .innerJoin('restaurants as r', 'r.id', 'o.restaurant_id')
      .select([
        'o.id',
        'o.status',
        'o.restaurant_id',
        'r.name as restaurant_name',
        'r.lat as restaurant_lat',
        'r.lng as restaurant_lng',
        'r.prep_minutes',
        'o.delivery_lat',
        'o.delivery_lng',
        'o.delivery_address',
        'o.distance_km',
      ])
      .select((eb) =>
        eb.fn
          .coalesce(
            eb
              .selectFrom('order_events as e')
              .select((s) => s.fn.min('e.created_at').as('at'))
              .whereRef('e.order_id', '=', 'o.id')
              .where('e.to_status', '=', 'confirmed'),
            'o.created_at',
          )
          .as('dispatchable_since'),
      )
      .where('o.status', 'in', ['confirmed', 'preparing', 'ready'])
      .where('o.courier_id', 'is', null)
      // One array parameter: the same statement text for any number of restaurants, so it stays prepared.
      .where('o.restaurant_id', '=', sql<string>`ANY(${[...restaurantIds]}::uuid[])`)
      .orderBy('o.created_at')
      .limit(MAX_WAITING)
      .execute();
  }
}
