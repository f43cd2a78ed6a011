import { sql } from 'kysely';
import { boundingBox, type Point } from '../../domain/geo.ts';
import type { Executor } from '../database.ts';

/** Haversine in SQL, written once so the ORDER BY and the cursor comparison use the same float. */
function distanceKm(from: Point) {
  return sql<number>`6371.0088 * 2 * asin(least(1, sqrt(
    power(sin(radians(lat - ${from.lat}::float8) / 2), 2)
    + cos(radians(${from.lat}::float8)) * cos(radians(lat)) * power(sin(radians(lng - ${from.lng}::float8) / 2), 2))))`;
}

const RESTAURANT_COLUMNS = [
  'id',
  'name',
  'cuisine',
  'address',
  'lat',
  'lng',
  'delivery_radius_km',
  'prep_minutes',
  'pos_integrated',
  'is_open',
  // numeric(2,1) arrives from pg as a string; a rating leaves the repository as a number.
  sql<number | null>`rating::float8`.as('rating'),
  'owner_id',
] as const;

export interface NearbyQuery {
  center: Point;
  radiusKm: number;
  limit: number;
  after?: { distanceKm: number; id: string };
  openOnly?: boolean;
  /** Only restaurants whose delivery radius reaches the centre. */
  deliversHere?: boolean;
}

export class RestaurantRepository {
  private readonly db: Executor;

  constructor(db: Executor) {
    this.db = db;
  }

  /** Nearest first; keyset-paginated on (distance, id) so pages stay stable while rows change. */
  findNearby(q: NearbyQuery) {
    const box = boundingBox(q.center, q.radiusKm);
    const distance = distanceKm(q.center);
    return this.db
      .selectFrom(
        this.db
          .selectFrom('restaurants')
          .select([...RESTAURANT_COLUMNS, distance.as('distance_km')])
          .where('lat', '>=', box.minLat)
          .where('lat', '<=', box.maxLat)
          .where('lng', '>=', box.minLng)
          .where('lng', '<=', box.maxLng)
          .$if(q.openOnly === true, (qb) => qb.where('is_open', '=', true))
          .as('r'),
      )
      .selectAll()
      .where('distance_km', '<=', q.radiusKm)
      .$if(q.deliversHere === true, (qb) => qb.whereRef('distance_km', '<=', 'delivery_radius_km'))
      .$if(q.after !== undefined, (qb) =>
        qb.where((eb) =>
          eb(eb.refTuple('distance_km', 'id'), '>', eb.tuple(q.after!.distanceKm, q.after!.id)),
        ),
      )
      .orderBy('distance_km')
      .orderBy('id')
      .limit(q.limit)
      .execute();
  }

  findById(id: string) {
    return this.db.selectFrom('restaurants').select(RESTAURANT_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  menu(restaurantId: string) {
    return this.db
      .selectFrom('menu_items')
      .select(['id', 'name', 'description', 'category', 'price_cents', 'is_available'])
      .where('restaurant_id', '=', restaurantId)
      .orderBy('position')
      .orderBy('id')
      .execute();
  }

  /** The owner condition is part of the write, so a non-owner's update changes nothing. */
  setOpen(id: string, isOpen: boolean, ownerId: string | undefined) {
    return this.db
      .updateTable('restaurants')
      .set({ is_open: isOpen, updated_at: sql`now()` })
      .where('id', '=', id)
      .$if(ownerId !== undefined, (qb) => qb.where('owner_id', '=', ownerId!))
      .returning(RESTAURANT_COLUMNS)
      .executeTakeFirst();
  }

  updateMenuItem(
    restaurantId: string,
    itemId: string,
    patch: { price_cents?: number; is_available?: boolean },
    ownerId: string | undefined,
  ) {
    return this.db
      .updateTable('menu_items')
      .set({ ...patch, updated_at: sql`now()` })
      .where('id', '=', itemId)
      .where('restaurant_id', '=', restaurantId)
      .$if(ownerId !== undefined, (qb) =>
        qb.where((eb) =>
          eb.exists(
            eb.selectFrom('restaurants').select('id').where('id', '=', restaurantId).where('owner_id', '=', ownerId!),
          ),
        ),
      )
      .returning(['id', 'name', 'description', 'category', 'price_cents', 'is_available'])
      .executeTakeFirst();
  }
}
