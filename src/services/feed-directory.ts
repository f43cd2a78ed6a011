import type { CatalogIndexRow, MenuRepository } from '../db/repositories/menu.repository.ts';
import type { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import { boundingBox, distanceKm, type Point } from '../domain/geo.ts';

type OpenRestaurant = Awaited<ReturnType<RestaurantRepository['openRestaurants']>>[number];
export type NearbyRestaurant = OpenRestaurant & { distance_km: number };

/** What a writer of restaurants or menus tells the feed on its own node, so its next feed shows the change. */
export interface CatalogChanges {
  restaurantsChanged(): void;
  menusChanged(restaurantIds: readonly string[] | '*'): void;
}

/** The channels migration 0009's triggers notify on. */
export const CATALOG_CHANNELS = ['dabba_restaurants', 'dabba_menus'] as const;

/** Restaurants whose synced menus are kept; past it the least recently used is dropped (a whole city fits). */
const MAX_MENUS = 5_000;

/**
 * The feed's copy of what it reads on every request, in memory: the open restaurants and their synced
 * menus. The feed is the hottest read there is, and these change seldom (an owner opens or closes, the
 * menu sync runs once a minute), so reading them from PostgreSQL per feed cost the API more CPU than
 * anything but the partner calls (two statements and ~150 rows parsed per feed).
 *
 * Kept current by the database's own notifications (migration 0009, ChangeListener), which every node
 * hears whoever wrote: a restaurant change reloads the directory, a menu change drops those menus. A
 * node that made the change itself also says so at once (`restaurantsChanged`, `menusChanged`), so its
 * own next feed already shows it. While nothing listens (`listening` false: not yet connected, or
 * the connection was lost and notifications may have been missed) every feed reads the database.
 * A load that a change overtook is used once and not kept.
 */
export class FeedDirectory implements CatalogChanges {
  readonly #restaurants: RestaurantRepository;
  readonly #menus: MenuRepository;
  readonly #listening: () => boolean;
  #directory: Promise<OpenRestaurant[]> | undefined;
  #menuCache = new Map<string, CatalogIndexRow[]>();
  #menuChanges = 0;

  constructor(deps: { restaurants: RestaurantRepository; menus: MenuRepository; listening: () => boolean }) {
    this.#restaurants = deps.restaurants;
    this.#menus = deps.menus;
    this.#listening = deps.listening;
  }

  /**
   * The nearest open restaurants within radiusKm whose delivery radius reaches `at`, nearest first (ties
   * by id). A scan of every open restaurant behind a bounding-box test: a few microseconds per hundred,
   * so a city's worth costs less than one statement would; a spatial index pays off past tens of thousands.
   */
  async nearby(at: Point, radiusKm: number, limit: number): Promise<NearbyRestaurant[]> {
    if (!this.#listening()) return this.#restaurants.findNearby({ center: at, radiusKm, limit, openOnly: true, deliversHere: true });
    const box = boundingBox(at, radiusKm);
    const found: NearbyRestaurant[] = [];
    for (const r of await this.#open()) {
      if (r.lat < box.minLat || r.lat > box.maxLat || r.lng < box.minLng || r.lng > box.maxLng) continue;
      const d = distanceKm(at, r);
      if (d <= radiusKm && d <= r.delivery_radius_km) found.push({ ...r, distance_km: d });
    }
    found.sort((a, b) => a.distance_km - b.distance_km || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return found.slice(0, limit);
  }

  /** The synced items of these restaurants, from memory where held; the rest in one read. */
  async catalogIndex(restaurantIds: readonly string[]): Promise<CatalogIndexRow[]> {
    if (!this.#listening()) return this.#menus.catalogIndex(restaurantIds);
    const rows: CatalogIndexRow[] = [];
    const missing: string[] = [];
    for (const id of restaurantIds) {
      const held = this.#menuCache.get(id);
      if (held === undefined) missing.push(id);
      else {
        this.#menuCache.delete(id);
        this.#menuCache.set(id, held);
        rows.push(...held);
      }
    }
    if (missing.length === 0) return rows;
    const changesBefore = this.#menuChanges;
    const loaded = await this.#menus.catalogIndex(missing);
    const byRestaurant = new Map<string, CatalogIndexRow[]>(missing.map((id) => [id, []]));
    for (const row of loaded) byRestaurant.get(row.restaurant_id)?.push(row);
    if (changesBefore === this.#menuChanges && this.#listening()) {
      for (const [id, items] of byRestaurant) this.#menuCache.set(id, items);
      for (const id of this.#menuCache.keys()) {
        if (this.#menuCache.size <= MAX_MENUS) break;
        this.#menuCache.delete(id);
      }
    }
    rows.push(...loaded);
    return rows;
  }

  restaurantsChanged() {
    this.#directory = undefined;
  }

  /** `*`: every menu. */
  menusChanged(restaurantIds: readonly string[] | '*') {
    this.#menuChanges++;
    if (restaurantIds === '*') this.#menuCache.clear();
    else for (const id of restaurantIds) this.#menuCache.delete(id);
  }

  /** Notifications may have been missed (the listener connected, or lost its connection): nothing held is trusted. */
  reset() {
    this.restaurantsChanged();
    this.menusChanged('*');
  }

  /** The change listener's news, by channel (migration 0009). */
  notified(channel: string, payload: string) {
    const [restaurants, menus] = CATALOG_CHANNELS;
    if (channel === restaurants) this.restaurantsChanged();
    else if (channel === menus) this.menusChanged(payload === '*' ? '*' : payload.split(',').filter(Boolean));
  }

  #open(): Promise<OpenRestaurant[]> {
    if (this.#directory) return this.#directory;
    // A change during the load clears #directory, so the next feed loads again; this one's callers use it once.
    const load = this.#restaurants.openRestaurants();
    this.#directory = load;
    load.catch(() => {
      if (this.#directory === load) this.#directory = undefined;
    });
    return load;
  }
}
