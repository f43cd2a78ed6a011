import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { MenuRepository } from '../db/repositories/menu.repository.ts';
import { planMenuSync } from '../domain/menu-sync.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { LiveMenu } from '../partners/catalog.client.ts';
import { failureKind } from '../partners/partner-errors.ts';
import type { CatalogChanges } from './feed-directory.ts';
import type { LiveMenus } from './live-menus.ts';

/** What the menu_sync job carries: some restaurants (a sync someone asked for), or none: all of them. */
export interface MenuSyncJob {
  restaurantIds?: string[];
}

/** Where sync requests go: the job queue, so any node's worker takes them and a burst collapses into one job per restaurant. */
export interface MenuSyncQueue {
  requestMenuSync(restaurantIds: string[]): Promise<void>;
}

export type RestaurantSync = { ok: true; changes: number } | { ok: false; error: string };

export interface SyncSummary {
  restaurants: number;
  changed_items: number;
  failed: { restaurant_id: string; error: string }[];
}

/** A restaurant whose drift a feed noticed is asked for at most this often per process. */
const REQUEST_EVERY_MS = 15_000;

/**
 * Keeps dabba's copy of every menu in step with the catalog, the restaurants' menu system. Each
 * restaurant is read from the catalog under its own deadline, at most `concurrency` at once, and its
 * answer applied by the rules of domain/menu-sync.ts in one transaction. A catalog that fails, is slow
 * or answers something malformed changes nothing: that restaurant keeps its last synced menu, marked
 * stale by the error, and is tried again on the next run: every run tries every restaurant, so a run
 * never fails for a partner (a job fails only when it cannot even list the restaurants; pg-boss retries it).
 */
export class MenuSyncService {
  readonly #menus: MenuRepository;
  readonly #liveMenus: LiveMenus;
  readonly #queue: MenuSyncQueue;
  readonly #concurrency: number;
  readonly #deadlineMs: number;
  readonly #metrics?: Metrics;
  readonly #log: FastifyBaseLogger;
  readonly #changes: CatalogChanges | undefined;
  readonly #requested = new LRUCache<string, true>({ max: 10_000, ttl: REQUEST_EVERY_MS });

  constructor(deps: {
    menus: MenuRepository;
    liveMenus: LiveMenus;
    queue: MenuSyncQueue;
    concurrency: number;
    deadlineMs: number;
    metrics?: Metrics;
    log: FastifyBaseLogger;
    /** Told of each menu written, so this node's next feed shows it (other nodes hear it from the database). */
    changes?: CatalogChanges;
  }) {
    this.#menus = deps.menus;
    this.#liveMenus = deps.liveMenus;
    this.#queue = deps.queue;
    this.#concurrency = deps.concurrency;
    this.#deadlineMs = deps.deadlineMs;
    this.#metrics = deps.metrics;
    this.#log = deps.log;
    this.#changes = deps.changes;
  }

  /** What the menu_sync job does. */
  run(job: MenuSyncJob | null) {
    return job?.restaurantIds ? this.syncRestaurants(job.restaurantIds) : this.syncAll();
  }

  async syncAll(): Promise<SyncSummary> {
    return this.syncRestaurants(await this.#menus.restaurantIds());
  }

  async syncRestaurants(restaurantIds: readonly string[]): Promise<SyncSummary> {
    const started = performance.now();
    const results = await mapBounded(restaurantIds, this.#concurrency, (id) => this.syncRestaurant(id));
    this.#metrics?.menuSyncSeconds.observe((performance.now() - started) / 1000);
    const failed = results.flatMap((r, i) => (r.ok ? [] : [{ restaurant_id: restaurantIds[i]!, error: r.error }]));
    const changed = results.reduce((n, r) => n + (r.ok ? r.changes : 0), 0);
    if (failed.length > 0) {
      const kinds = [...new Set(failed.map((f) => f.error))];
      this.#log.warn(
        { failed: failed.length, restaurants: restaurantIds.length, kinds },
        `menu sync: ${failed.length} of ${restaurantIds.length} restaurants failed (${kinds.join(', ')}); they keep their last synced menus, marked stale, and are tried again on the next run`,
      );
    }
    return { restaurants: restaurantIds.length, changed_items: changed, failed };
  }

  /** One restaurant: its live menu under the deadline, then applied in one transaction; never throws. */
  async syncRestaurant(restaurantId: string): Promise<RestaurantSync> {
    const deadline = AbortSignal.timeout(this.#deadlineMs);
    let items: LiveMenu['items'];
    try {
      ({ items } = await this.#liveMenus.fetch(restaurantId, deadline));
    } catch (err) {
      return this.#failed(restaurantId, deadline.aborted ? 'timeout' : failureKind(err), err);
    }
    try {
      const result = await this.#menus.reconcile(restaurantId, (current) => planMenuSync(current, items, randomUUID));
      if (!result.ok) return this.#failed(restaurantId, 'bad_response', new Error(result.problem));
      this.#changes?.menusChanged([restaurantId]);
      for (const change of result.plan.changes) this.#metrics?.menuSyncChanges.inc({ field: change.field });
      this.#metrics?.menuSyncRestaurants.inc({ outcome: 'ok' });
      return { ok: true, changes: result.plan.changes.length };
    } catch (err) {
      return this.#failed(restaurantId, 'error', err);
    }
  }

  /** Every restaurant's menu as a catalog would list it (catalog ids), for loading the demo's simulator. */
  catalogExport() {
    return this.#menus.catalogExport();
  }

  /**
   * Someone saw the live catalog differ from the synced copy (the feed does): sync that restaurant
   * soon rather than at the next run. Fire and forget, throttled per restaurant.
   */
  request(restaurantId: string) {
    if (this.#requested.has(restaurantId)) return;
    this.#requested.set(restaurantId, true);
    this.#queue.requestMenuSync([restaurantId]).catch((err: unknown) => this.#log.warn({ err, restaurantId }, 'requesting a menu sync failed'));
  }

  async #failed(restaurantId: string, error: string, err: unknown): Promise<RestaurantSync> {
    this.#metrics?.menuSyncRestaurants.inc({ outcome: 'failed' });
    this.#log.debug({ err, restaurantId, error }, 'menu sync failed for a restaurant');
    await this.#menus.recordFailure(restaurantId, error).catch((e: unknown) => this.#log.warn({ err: e, restaurantId }, 'recording a menu sync failure failed'));
    return { ok: false, error };
  }
}

/** `fn` over `items`, at most `limit` at a time, results in input order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
