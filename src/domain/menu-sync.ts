/**
 * The catalog partner is a restaurant's menu system; dabba's menu is its synced copy. The rules for
 * bringing the copy up to date, pure so the sync, the feed and checkout apply the same ones.
 *
 * Who wins: the newer change. dabba remembers the catalog's price and availability as it last saw them;
 * the catalog's value replaces dabba's only when it differs from that (the catalog changed it since),
 * so an owner's edit in dabba stands until the catalog itself changes that field. A name follows the
 * catalog always (owners cannot edit names). Items are matched by their catalog id, added when new, and
 * marked unavailable (never deleted: orders reference them) when the catalog no longer lists them.
 */

/** A menu item as dabba holds it, with what the last sync saw in the catalog (null: never seen). */
export interface SyncedItem {
  id: string;
  catalog_item_id: string;
  name: string;
  price_cents: number;
  is_available: boolean;
  catalog_price_cents: number | null;
  catalog_available: boolean | null;
  position: number;
}

/** An item as the catalog lists it now. */
export interface CatalogItem {
  id: string;
  name: string;
  price_cents: number;
  available: boolean;
}

export type MenuField = 'name' | 'price_cents' | 'is_available';
export type MenuValue = string | number | boolean;

export interface MenuChange {
  menu_item_id: string;
  field: MenuField;
  old_value: MenuValue | null;
  new_value: MenuValue;
}

/** An item's state after the sync; `seen`: the catalog listed it this time (its `synced_at` moves). */
export type ItemWrite = SyncedItem & { seen: boolean };

export interface MenuSyncPlan {
  /** Every item the catalog listed, and every vanished item whose availability this sync took away. */
  updates: ItemWrite[];
  inserts: SyncedItem[];
  changes: MenuChange[];
}

/** Whether the catalog's value is news: never seen before, or different from what the last sync saw. */
export function catalogChanged<T>(lastSeen: T | null, now: T): boolean {
  return lastSeen === null || lastSeen !== now;
}

/**
 * Whether an item can be ordered now, given the live catalog's word on it when there is one: exactly
 * what the next sync would make of its availability, without writing it.
 */
export function availableNow(item: Pick<SyncedItem, 'is_available' | 'catalog_available'>, live?: { available: boolean }): boolean {
  if (!live) return item.is_available;
  return catalogChanged(item.catalog_available, live.available) ? live.available : item.is_available;
}

/** A menu with each dish's availability as `availableNow` judges it against a live menu (unchanged without one). */
export function withLiveAvailability<T extends Pick<SyncedItem, 'catalog_item_id' | 'is_available' | 'catalog_available'>>(
  menu: readonly T[],
  live?: { items: readonly CatalogItem[] },
): T[] {
  if (!live) return [...menu];
  const listed = new Map(live.items.map((item) => [item.id, item]));
  return menu.map((dish) => ({ ...dish, is_available: availableNow(dish, listed.get(dish.catalog_item_id)) }));
}

/** Whether a live answer says something the synced copy has not taken in yet: worth a sync soon. */
export function catalogMovedOn(item: Pick<SyncedItem, 'name' | 'catalog_price_cents' | 'catalog_available'>, live: CatalogItem): boolean {
  return live.name !== item.name || live.price_cents !== item.catalog_price_cents || live.available !== item.catalog_available;
}

/** A menu is stale when its last attempt failed, it was never synced, or its last sync is older than `staleAfterMs`. */
export function isMenuStale(syncedAt: Date | null, syncError: string | null, now: number, staleAfterMs: number): boolean {
  return syncError !== null || syncedAt === null || now - syncedAt.getTime() > staleAfterMs;
}

/**
 * What a catalog answer changes in dabba's copy of one menu, or why the answer cannot be taken
 * (then nothing changes): one item listed twice, or a price dabba cannot charge (below 1).
 * `newId` names an item new to dabba.
 */
export function planMenuSync(
  current: readonly SyncedItem[],
  catalog: readonly CatalogItem[],
  newId: () => string,
): { ok: true; plan: MenuSyncPlan } | { ok: false; problem: string } {
  const listed = new Set<string>();
  for (const item of catalog) {
    if (listed.has(item.id)) return { ok: false, problem: `item ${JSON.stringify(item.id)} is listed twice` };
    if (item.price_cents < 1) return { ok: false, problem: `item ${JSON.stringify(item.id)} has no price (${item.price_cents})` };
    listed.add(item.id);
  }
  const plan: MenuSyncPlan = { updates: [], inserts: [], changes: [] };
  const change = (item: SyncedItem, field: MenuField, from: MenuValue | null, to: MenuValue) =>
    plan.changes.push({ menu_item_id: item.id, field, old_value: from, new_value: to });
  const known = new Map(current.map((item) => [item.catalog_item_id, item]));
  let nextPosition = Math.max(-1, ...current.map((item) => item.position)) + 1;

  for (const item of catalog) {
    const row = known.get(item.id);
    if (!row) {
      const added: SyncedItem = {
        id: newId(),
        catalog_item_id: item.id,
        name: item.name,
        price_cents: item.price_cents,
        is_available: item.available,
        catalog_price_cents: item.price_cents,
        catalog_available: item.available,
        position: nextPosition++,
      };
      plan.inserts.push(added);
      change(added, 'name', null, added.name);
      change(added, 'price_cents', null, added.price_cents);
      change(added, 'is_available', null, added.is_available);
      continue;
    }
    const next: ItemWrite = { ...row, catalog_price_cents: item.price_cents, catalog_available: item.available, seen: true };
    if (item.name !== row.name) {
      change(row, 'name', row.name, item.name);
      next.name = item.name;
    }
    if (catalogChanged(row.catalog_price_cents, item.price_cents) && item.price_cents !== row.price_cents) {
      change(row, 'price_cents', row.price_cents, item.price_cents);
      next.price_cents = item.price_cents;
    }
    if (catalogChanged(row.catalog_available, item.available) && item.available !== row.is_available) {
      change(row, 'is_available', row.is_available, item.available);
      next.is_available = item.available;
    }
    plan.updates.push(next);
  }

  // Gone from the catalog: as if the catalog had marked it unavailable, under the same rule.
  for (const row of current) {
    if (listed.has(row.catalog_item_id) || !catalogChanged(row.catalog_available, false)) continue;
    const next: ItemWrite = { ...row, catalog_available: false, seen: false };
    if (row.is_available) {
      change(row, 'is_available', true, false);
      next.is_available = false;
    }
    plan.updates.push(next);
  }
  return { ok: true, plan };
}
