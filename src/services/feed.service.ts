import type { CatalogIndexRow } from '../db/repositories/menu.repository.ts';
import type { Point } from '../domain/geo.ts';
import { availableNow, catalogMovedOn } from '../domain/menu-sync.ts';
import type { LiveMenu } from '../partners/catalog.client.ts';
import type { Partners } from '../partners/index.ts';
import { failureKind } from '../partners/partner-errors.ts';
import type { FeedDirectory } from './feed-directory.ts';
import type { LiveMenus } from './live-menus.ts';

const HIGHLIGHTS = 3;
const SEARCH_RADIUS_KM = 15;

type LiveResult = { menu: LiveMenu; stale: boolean; error?: string } | { menu: null; error: string };

/**
 * The home feed: the nearest open restaurants that deliver here, each with live menu highlights and
 * an ETA, every partner call made at once under one deadline. A call that fails or misses the
 * deadline marks its restaurant (last good menu as `stale`, or `menu: null`; ETA null) instead of
 * failing the feed.
 *
 * What the feed shows can be ordered at the price shown: the live menu decides which dishes are
 * highlighted (its order, its availability), but each is shown as dabba's synced copy holds it (its
 * id, name and price, the price checkout charges), through one read of the restaurants' synced items
 * made alongside the partner calls. A live dish the sync has not brought in yet is left out; a live
 * menu that has moved on from the synced copy asks for a sync of that restaurant.
 */
export class FeedService {
  readonly #directory: FeedDirectory;
  readonly #liveMenus: LiveMenus;
  readonly #partners: Partners;
  readonly #onCatalogMovedOn: (restaurantId: string) => void;
  readonly #deadlineMs: number;
  readonly #count: number;

  constructor(deps: {
    directory: FeedDirectory;
    liveMenus: LiveMenus;
    partners: Partners;
    onCatalogMovedOn?: (restaurantId: string) => void;
    deadlineMs: number;
    count: number;
  }) {
    this.#directory = deps.directory;
    this.#liveMenus = deps.liveMenus;
    this.#partners = deps.partners;
    this.#onCatalogMovedOn = deps.onCatalogMovedOn ?? (() => {});
    this.#deadlineMs = deps.deadlineMs;
    this.#count = deps.count;
  }

  async feed(at: Point, signal: AbortSignal) {
    const nearby = await this.#directory.nearby(at, SEARCH_RADIUS_KM, this.#count);
    // Aborted by the deadline, or sooner when the customer closes the app.
    const deadline = AbortSignal.any([AbortSignal.timeout(this.#deadlineMs), signal]);
    const [synced, fetched] = await Promise.all([
      this.#directory.catalogIndex(nearby.map((r) => r.id)),
      Promise.all(nearby.map((r) => this.#fetch(r, at, deadline))),
    ]);
    const byRestaurant = new Map<string, Map<string, CatalogIndexRow>>();
    for (const row of synced) {
      const items = byRestaurant.get(row.restaurant_id) ?? new Map<string, CatalogIndexRow>();
      byRestaurant.set(row.restaurant_id, items.set(row.catalog_item_id, row));
    }
    const items = fetched.map(({ restaurant, live, eta }) => ({
      restaurant,
      ...this.#menuPart(restaurant.id, live, byRestaurant.get(restaurant.id) ?? new Map()),
      eta_minutes: eta.status === 'fulfilled' ? eta.value : null,
      ...(eta.status === 'rejected' ? { eta_error: failureKind(eta.reason) } : {}),
    }));
    return {
      items,
      partial: items.some((i) => i.menu === null || i.menu.stale || i.eta_minutes === null),
      generated_at: new Date().toISOString(),
    };
  }

  async #fetch<R extends { id: string; lat: number; lng: number; prep_minutes: number }>(restaurant: R, at: Point, signal: AbortSignal) {
    const [menu, eta] = await Promise.allSettled([
      this.#liveMenus.fetch(restaurant.id, signal),
      this.#partners.eta.predict({ lat: restaurant.lat, lng: restaurant.lng }, at, restaurant.prep_minutes, signal),
    ]);
    return { restaurant, live: this.#live(restaurant.id, menu), eta };
  }

  #live(restaurantId: string, result: PromiseSettledResult<LiveMenu>): LiveResult {
    if (result.status === 'fulfilled') return { menu: result.value, stale: false };
    const cached = this.#liveMenus.lastGood(restaurantId);
    const error = failureKind(result.reason);
    return cached ? { menu: cached.menu, stale: true, error } : { menu: null, error };
  }

  #menuPart(restaurantId: string, live: LiveResult, synced: Map<string, CatalogIndexRow>) {
    const menu_error = live.error === undefined ? {} : { menu_error: live.error };
    if (live.menu === null) return { menu: null, ...menu_error };
    const highlights = [];
    let movedOn = false;
    for (const item of live.menu.items) {
      const row = synced.get(item.id);
      if (!row) continue;
      movedOn ||= catalogMovedOn(row, item);
      if (highlights.length < HIGHLIGHTS && availableNow(row, item)) highlights.push({ id: row.id, name: row.name, price_cents: row.price_cents });
    }
    if (movedOn && !live.stale) this.#onCatalogMovedOn(restaurantId);
    return { menu: { stale: live.stale, as_of: live.menu.as_of, highlights }, ...menu_error };
  }
}
