import { LRUCache } from 'lru-cache';
import type { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import type { Point } from '../domain/geo.ts';
import type { LiveMenu } from '../partners/catalog.client.ts';
import type { Partners } from '../partners/index.ts';
import { failureKind } from '../partners/partner-errors.ts';

const HIGHLIGHTS = 3;
const SEARCH_RADIUS_KM = 15;

interface CachedMenu {
  menu: LiveMenu;
  fetchedAt: number;
}

/**
 * The home feed: the nearest open restaurants that deliver here, each with live menu highlights and
 * an ETA, every partner call made at once under one deadline. A call that fails or misses the
 * deadline marks its restaurant (last good menu as `stale`, or `menu: null`; ETA null) instead of
 * failing the feed. A menu that fails its schema is such a failure (`bad_response`, see CatalogClient),
 * so only menus that passed it are ever kept as last good. Last good menus live in a bounded LRU with a TTL.
 */
export class FeedService {
  readonly #restaurants: RestaurantRepository;
  readonly #partners: Partners;
  readonly #deadlineMs: number;
  readonly #count: number;
  readonly #lastGood = new LRUCache<string, CachedMenu>({ max: 10_000, ttl: 30 * 60_000 });

  constructor(deps: { restaurants: RestaurantRepository; partners: Partners; deadlineMs: number; count: number }) {
    this.#restaurants = deps.restaurants;
    this.#partners = deps.partners;
    this.#deadlineMs = deps.deadlineMs;
    this.#count = deps.count;
  }

  async feed(at: Point, signal: AbortSignal) {
    const nearby = await this.#restaurants.findNearby({
      center: at,
      radiusKm: SEARCH_RADIUS_KM,
      limit: this.#count,
      openOnly: true,
      deliversHere: true,
    });
    // Aborted by the deadline, or sooner when the customer closes the app.
    const deadline = AbortSignal.any([AbortSignal.timeout(this.#deadlineMs), signal]);
    const items = await Promise.all(nearby.map((r) => this.#entry(r, at, deadline)));
    return {
      items,
      partial: items.some((i) => i.menu === null || i.menu.stale || i.eta_minutes === null),
      generated_at: new Date().toISOString(),
    };
  }

  async #entry<R extends { id: string; lat: number; lng: number; prep_minutes: number }>(
    restaurant: R,
    at: Point,
    signal: AbortSignal,
  ) {
    const [menu, eta] = await Promise.allSettled([
      this.#partners.catalog.menu(restaurant.id, signal),
      this.#partners.eta.predict({ lat: restaurant.lat, lng: restaurant.lng }, at, restaurant.prep_minutes, signal),
    ]);
    return {
      restaurant,
      ...this.#menuPart(restaurant.id, menu),
      eta_minutes: eta.status === 'fulfilled' ? eta.value : null,
      ...(eta.status === 'rejected' ? { eta_error: failureKind(eta.reason) } : {}),
    };
  }

  #menuPart(restaurantId: string, result: PromiseSettledResult<LiveMenu>) {
    if (result.status === 'fulfilled') {
      this.#lastGood.set(restaurantId, { menu: result.value, fetchedAt: Date.now() });
      return { menu: present(result.value, false) };
    }
    const cached = this.#lastGood.get(restaurantId);
    const menu_error = failureKind(result.reason);
    return { menu: cached ? present(cached.menu, true) : null, menu_error };
  }
}

function present(menu: LiveMenu, stale: boolean) {
  return {
    stale,
    as_of: menu.as_of,
    highlights: menu.items.filter((i) => i.available).slice(0, HIGHLIGHTS).map(({ id, name, price_cents }) => ({ id, name, price_cents })),
  };
}
