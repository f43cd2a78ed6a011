import { sql } from 'kysely';
import { boundingBox, type Point } from '../../domain/geo.ts';
import type { Executor } from '../database.ts';

/**
 * A centre rounded to a nanodegree (0.1 mm): PostgreSQL raises "value out of range: underflow" when a
 * float result underflows to zero, which a subnormal coordinate such as 5e-324 makes radians() and
 * power() do.
 */
const nanodegrees = (deg: number) => Math.round(deg * 1e9) / 1e9;

/** Haversine in SQL, written once so the ORDER BY and the cursor comparison use the same float. */
function distanceKm(center: Point) {
  const from = { lat: nanodegrees(center.lat), lng: nanodegrees(center.lng) };
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

const MENU_ITEM_COLUMNS = ['id', 'name', 'description', 'category', 'price_cents', 'is_available', 'synced_at'] as const;

type MenuItemRow = { id: string; name: string; description: string; category: string; price_cents: number; is_available: boolean; synced_at: Date | null };

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

  /** Every open restaurant: what the feed's in-memory directory holds. */
  openRestaurants() {
    return this.db.selectFrom('restaurants').select(RESTAURANT_COLUMNS).where('is_open', '=', true).execute();
  }

  /** An owner's restaurants, by name. */
  ownedBy(ownerId: string) {
    return this.db.selectFrom('restaurants').select(RESTAURANT_COLUMNS).where('owner_id', '=', ownerId).orderBy('name').orderBy('id').execute();
  }

  findById(id: string) {
    return this.db.selectFrom('restaurants').select(RESTAURANT_COLUMNS).where('id', '=', id).executeTakeFirst();
  }

  /** What a menu is shown with: whether the restaurant is open, and how current its synced menu is. */
  menuHeader(id: string) {
    return this.db.selectFrom('restaurants').select(['is_open', 'menu_synced_at', 'menu_sync_error']).where('id', '=', id).executeTakeFirst();
  }

  menu(restaurantId: string) {
    return this.db
      .selectFrom('menu_items')
      .select(MENU_ITEM_COLUMNS)
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

  /**
   * An owner's (or admin's) edit, and a record of each field it changed (source `owner`), in one
   * statement. The row lock it takes orders it against a menu sync of the same restaurant: whichever
   * comes second decides on what the first wrote.
   */
  async updateMenuItem(
    restaurantId: string,
    itemId: string,
    patch: { price_cents?: number; is_available?: boolean },
    who: { id: string; ownerId: string | undefined },
  ) {
    const { rows } = await sql<MenuItemRow>`
      WITH old AS (
        SELECT m.id, m.price_cents, m.is_available FROM menu_items m
         WHERE m.id = ${itemId} AND m.restaurant_id = ${restaurantId}
           AND (${who.ownerId ?? null}::uuid IS NULL
                OR EXISTS (SELECT 1 FROM restaurants r WHERE r.id = ${restaurantId} AND r.owner_id = ${who.ownerId ?? null}::uuid))
           FOR UPDATE
      ), updated AS (
        UPDATE menu_items m
           SET price_cents = coalesce(${patch.price_cents ?? null}::integer, m.price_cents),
               is_available = coalesce(${patch.is_available ?? null}::boolean, m.is_available),
               updated_at = now()
          FROM old WHERE m.id = old.id
        RETURNING m.id, m.name, m.description, m.category, m.price_cents, m.is_available, m.synced_at
      ), recorded AS (
        INSERT INTO menu_item_changes (menu_item_id, field, old_value, new_value, source, actor_id)
        SELECT u.id, c.field, c.old_value, c.new_value, 'owner', ${who.id}::uuid
          FROM updated u JOIN old o ON o.id = u.id,
               LATERAL (VALUES ('price_cents', to_jsonb(o.price_cents), to_jsonb(u.price_cents)),
                               ('is_available', to_jsonb(o.is_available), to_jsonb(u.is_available))) AS c(field, old_value, new_value)
         WHERE c.old_value <> c.new_value
      )
      SELECT * FROM updated
    `.execute(this.db);
    return rows[0];
  }
}
