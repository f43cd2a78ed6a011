import { LRUCache } from 'lru-cache';
import type { CatalogClient, LiveMenu } from '../partners/catalog.client.ts';

/** A live menu this young is fresh enough for checkout: about the feed's refresh as a customer scrolls. */
export const CHECKOUT_MENU_MAX_AGE_MS = 30_000;
/** How long checkout waits for the catalog before it decides on the synced copy alone. */
export const CHECKOUT_MENU_DEADLINE_MS = 300;

export interface CachedMenu {
  menu: LiveMenu;
  fetchedAt: number;
}

/**
 * Restaurants' live menus as the catalog answers them, shared by the feed, checkout and the menu sync:
 * every good answer becomes the restaurant's last good menu, in a bounded LRU with a TTL. A menu that
 * failed its schema is a failure (`bad_response`, see CatalogClient), so only menus that passed it are kept.
 */
export class LiveMenus {
  readonly #catalog: CatalogClient;
  readonly #lastGood = new LRUCache<string, CachedMenu>({ max: 10_000, ttl: 30 * 60_000 });

  constructor(catalog: CatalogClient) {
    this.#catalog = catalog;
  }

  /** Asks the catalog now; a good answer is kept as last good. */
  async fetch(restaurantId: string, signal: AbortSignal): Promise<LiveMenu> {
    const menu = await this.#catalog.menu(restaurantId, signal);
    this.#lastGood.set(restaurantId, { menu, fetchedAt: Date.now() });
    return menu;
  }

  lastGood(restaurantId: string): CachedMenu | undefined {
    return this.#lastGood.get(restaurantId);
  }

  /**
   * A menu no older than `maxAgeMs`: the last good one if it is that young, else the catalog's answer
   * within `deadlineMs`. Undefined when the catalog fails or is slow: the caller decides without it,
   * so an order never waits on, or fails for, the catalog.
   */
  async recent(restaurantId: string, opts: { maxAgeMs: number; deadlineMs: number }): Promise<LiveMenu | undefined> {
    const cached = this.#lastGood.get(restaurantId);
    if (cached && Date.now() - cached.fetchedAt <= opts.maxAgeMs) return cached.menu;
    return this.fetch(restaurantId, AbortSignal.timeout(opts.deadlineMs)).catch(() => undefined);
  }
}
