import type { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import type { Principal } from '../domain/identity.ts';
import { isMenuStale } from '../domain/menu-sync.ts';
import { badRequest, notFound } from '../errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import type { CatalogChanges } from './feed-directory.ts';

export interface NearbyInput {
  lat: number;
  lng: number;
  radius_km: number;
  limit: number;
  cursor?: string;
}

export class RestaurantService {
  readonly #restaurants: RestaurantRepository;
  readonly #menuStaleAfterMs: number;
  readonly #changes: CatalogChanges | undefined;

  constructor(restaurants: RestaurantRepository, menuStaleAfterMs: number, changes?: CatalogChanges) {
    this.#restaurants = restaurants;
    this.#menuStaleAfterMs = menuStaleAfterMs;
    this.#changes = changes;
  }

  async nearby(q: NearbyInput) {
    const after = q.cursor ? decodeCursor(q.cursor, ['number', 'uuid'] as const) : undefined;
    const rows = await this.#restaurants.findNearby({
      center: { lat: q.lat, lng: q.lng },
      radiusKm: q.radius_km,
      limit: q.limit + 1,
      after: after && { distanceKm: after[0], id: after[1] },
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page,
      next_cursor: rows.length > q.limit && last ? encodeCursor([last.distance_km, last.id]) : null,
    };
  }

  /** The restaurants the caller owns: where an owner's board starts. */
  async owned(who: Principal) {
    return { items: await this.#restaurants.ownedBy(who.id) };
  }

  async get(id: string) {
    const restaurant = await this.#restaurants.findById(id);
    if (!restaurant) throw notFound('Restaurant');
    return restaurant;
  }

  /** The synced copy of the restaurant's menu, saying how current it is: stale when its last sync failed or is old. */
  async menu(id: string) {
    const [header, items] = await Promise.all([this.#restaurants.menuHeader(id), this.#restaurants.menu(id)]);
    if (!header) throw notFound('Restaurant');
    return {
      restaurant_id: id,
      is_open: header.is_open,
      synced_at: header.menu_synced_at,
      stale: isMenuStale(header.menu_synced_at, header.menu_sync_error, Date.now(), this.#menuStaleAfterMs),
      sync_error: header.menu_sync_error,
      items,
    };
  }

  /** Owners change only their own restaurants; for anyone else the restaurant does not exist. */
  async setOpen(who: Principal, id: string, isOpen: boolean) {
    const updated = await this.#restaurants.setOpen(id, isOpen, ownerFilter(who));
    if (!updated) throw notFound('Restaurant');
    this.#changes?.restaurantsChanged();
    return updated;
  }

  async updateMenuItem(who: Principal, restaurantId: string, itemId: string, patch: { price_cents?: number; is_available?: boolean }) {
    // Unknown fields are dropped after the schema's minProperties has counted them, so `{"name": …}` arrives here as `{}`.
    if (patch.price_cents === undefined && patch.is_available === undefined) {
      throw badRequest('The patch changes nothing; send price_cents and/or is_available.', [
        { field: 'body', message: 'must set price_cents or is_available' },
      ]);
    }
    const updated = await this.#restaurants.updateMenuItem(restaurantId, itemId, patch, { id: who.id, ownerId: ownerFilter(who) });
    if (!updated) throw notFound('Menu item');
    this.#changes?.menusChanged([restaurantId]);
    return updated;
  }
}

const ownerFilter = (who: Principal) => (who.role === 'admin' ? undefined : who.id);
