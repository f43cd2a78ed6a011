import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type Actor, type TestContext, type TestRestaurant, createRestaurant, createUser, orderBody } from './helper.ts';

/** Helpers for the menu sync tests: restaurants, their catalog menus, and what dabba made of them. */

export type CatalogItem = { id: string; name: string; price_cents: number; available?: boolean };
export interface Menu {
  synced_at: string | null;
  stale: boolean;
  sync_error: string | null;
  items: { id: string; name: string; price_cents: number; is_available: boolean; synced_at: string | null }[];
}

export async function kitchen(c: TestContext, items = 3) {
  const owner = await createUser(c, 'restaurant');
  return { owner, r: await createRestaurant(c, owner, { items }) };
}

/** The restaurant's live menu in the catalog simulator: fixed prices, available unless said otherwise. */
export const setCatalog = (c: TestContext, r: TestRestaurant, items: CatalogItem[]) =>
  c.sim.control('PUT', `/catalog/restaurants/${r.id}`, { items, drift: false });

/** The restaurant's own dishes as the catalog lists them (catalog id = dabba id), with some fields changed. */
export const own = (r: TestRestaurant, changed: Record<number, Partial<CatalogItem>> = {}) =>
  r.items.map((item, i) => ({ id: item.id, name: item.name, price_cents: item.price_cents, ...changed[i] }));

export async function menu(c: TestContext, r: TestRestaurant): Promise<Menu> {
  const res = await c.app.inject({ url: `/v1/restaurants/${r.id}/menu` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Menu;
}

/** Every column of the restaurant's menu rows, for "changed nothing". */
export async function rowsDigest(c: TestContext, r: TestRestaurant) {
  const { rows } = await c.sql.query<{ d: string }>(
    `SELECT md5(string_agg(m::text, '|' ORDER BY m.id)) AS d FROM menu_items m WHERE m.restaurant_id = $1`,
    [r.id],
  );
  return rows[0]!.d;
}

/** The recorded changes of the restaurant's menu, oldest first. */
export async function changes(c: TestContext, r: TestRestaurant) {
  const { rows } = await c.sql.query<{ catalog_item_id: string; field: string; old_value: unknown; new_value: unknown; source: string; actor_id: string | null }>(
    `SELECT m.catalog_item_id, ch.field, ch.old_value, ch.new_value, ch.source, ch.actor_id
       FROM menu_item_changes ch JOIN menu_items m ON m.id = ch.menu_item_id
      WHERE m.restaurant_id = $1 ORDER BY ch.changed_at, m.position, ch.field`,
    [r.id],
  );
  return rows;
}

export function order(c: TestContext, customer: Actor, r: TestRestaurant, items: { menu_item_id: string; quantity: number }[]) {
  return c.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...customer.auth, 'idempotency-key': randomUUID() },
    payload: orderBody(r, { items }),
  });
}

export const sync = (c: TestContext, r: TestRestaurant) => c.app.services.menuSync.syncRestaurant(r.id);
