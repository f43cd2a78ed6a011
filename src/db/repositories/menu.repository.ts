import { sql } from 'kysely';
import type { MenuSyncPlan, SyncedItem } from '../../domain/menu-sync.ts';
import type { Db, Executor } from '../database.ts';

/** What the feed and checkout need of a synced item to map a catalog id onto it and judge it. */
export type CatalogIndexRow = Pick<SyncedItem, 'id' | 'catalog_item_id' | 'name' | 'price_cents' | 'is_available' | 'catalog_price_cents' | 'catalog_available'> & {
  restaurant_id: string;
};

/** An item new to dabba gets this category: the catalog has none, and the column is required. */
const NEW_ITEM_CATEGORY = 'Other';

/**
 * dabba's copy of each restaurant's menu, kept in step with the catalog: the reads the sync and the
 * feed need, and the sync's writes.
 */
export class MenuRepository {
  private readonly db: Db;

  constructor(db: Db) {
    this.db = db;
  }

  /** Every restaurant, open or not: a closed one's menu must be current when it opens. */
  async restaurantIds(): Promise<string[]> {
    const rows = await this.db.selectFrom('restaurants').select('id').orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  /** The synced items of these restaurants, for mapping catalog ids to dabba ids (one read per feed). */
  catalogIndex(restaurantIds: readonly string[]): Promise<CatalogIndexRow[]> {
    if (restaurantIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom('menu_items')
      .select(['restaurant_id', 'id', 'catalog_item_id', 'name', 'price_cents', 'is_available', 'catalog_price_cents', 'catalog_available'])
      // One array parameter: the same statement text for any number of restaurants, so it stays prepared.
      .where('restaurant_id', '=', sql<string>`ANY(${[...restaurantIds]}::uuid[])`)
      .execute();
  }

  /** Each restaurant's menu as the catalog simulator takes it: `dabba up` loads it so both agree. */
  async catalogExport() {
    const rows = await this.db
      .selectFrom('menu_items')
      .select(['restaurant_id', 'catalog_item_id as id', 'name', 'price_cents'])
      .orderBy('restaurant_id')
      .orderBy('position')
      .orderBy('id')
      .execute();
    const menus = new Map<string, { id: string; name: string; price_cents: number }[]>();
    for (const { restaurant_id, ...item } of rows) menus.set(restaurant_id, [...(menus.get(restaurant_id) ?? []), item]);
    return [...menus].map(([restaurantId, items]) => ({ restaurantId, items }));
  }

  /**
   * Reads one restaurant's menu under row locks, lets `decide` plan the sync from it, and writes the
   * plan, the changes it records and the restaurant's sync time in the same transaction: an owner's
   * edit racing the sync waits for it (or it for the edit), so neither is decided on a value the other
   * is replacing. `decide` returning a problem writes nothing and is passed back.
   */
  reconcile(restaurantId: string, decide: (current: SyncedItem[]) => { ok: true; plan: MenuSyncPlan } | { ok: false; problem: string }) {
    return this.db.transaction().execute(async (tx) => {
      const current = await tx
        .selectFrom('menu_items')
        .select(['id', 'catalog_item_id', 'name', 'price_cents', 'is_available', 'catalog_price_cents', 'catalog_available', 'position'])
        .where('restaurant_id', '=', restaurantId)
        .forUpdate()
        .execute();
      const decided = decide(current);
      if (!decided.ok) return decided;
      await this.#write(tx, restaurantId, decided.plan);
      return decided;
    });
  }

  /** One statement: updated items, new items, their recorded changes and the restaurant's sync time. */
  async #write(tx: Executor, restaurantId: string, plan: MenuSyncPlan) {
    const changed = new Set(plan.changes.map((c) => c.menu_item_id));
    const updates = JSON.stringify(plan.updates.map((u) => ({ ...u, changed: changed.has(u.id) })));
    await sql`
      WITH updated AS (
        UPDATE menu_items m
           SET name = v.name, price_cents = v.price_cents, is_available = v.is_available,
               catalog_price_cents = v.catalog_price_cents, catalog_available = v.catalog_available,
               synced_at = CASE WHEN v.seen THEN now() ELSE m.synced_at END,
               updated_at = CASE WHEN v.changed THEN now() ELSE m.updated_at END
          FROM jsonb_to_recordset(${updates}::jsonb) AS v(id uuid, name text, price_cents integer, is_available boolean,
                 catalog_price_cents integer, catalog_available boolean, seen boolean, changed boolean)
         WHERE m.id = v.id AND m.restaurant_id = ${restaurantId}
        RETURNING m.id
      ), inserted AS (
        INSERT INTO menu_items (id, restaurant_id, catalog_item_id, name, category, price_cents, is_available,
                                catalog_price_cents, catalog_available, position, synced_at)
        SELECT v.id, ${restaurantId}, v.catalog_item_id, v.name, ${NEW_ITEM_CATEGORY}, v.price_cents, v.is_available,
               v.catalog_price_cents, v.catalog_available, v.position, now()
          FROM jsonb_to_recordset(${JSON.stringify(plan.inserts)}::jsonb) AS v(id uuid, catalog_item_id text, name text,
                 price_cents integer, is_available boolean, catalog_price_cents integer, catalog_available boolean, position integer)
        RETURNING id
      ), recorded AS (
        INSERT INTO menu_item_changes (menu_item_id, field, old_value, new_value, source)
        SELECT c.menu_item_id, c.field, c.old_value, c.new_value, 'catalog'
          FROM jsonb_to_recordset(${JSON.stringify(plan.changes)}::jsonb) AS c(menu_item_id uuid, field text, old_value jsonb, new_value jsonb)
      )
      UPDATE restaurants SET menu_synced_at = now(), menu_sync_error = NULL WHERE id = ${restaurantId}
    `.execute(tx);
  }

  /** The last attempt failed: the synced menu stays as it was, marked stale by the error. */
  async recordFailure(restaurantId: string, error: string) {
    await this.db.updateTable('restaurants').set({ menu_sync_error: error }).where('id', '=', restaurantId).execute();
  }
}
