import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SyncedItem, availableNow, isMenuStale, planMenuSync, withLiveAvailability } from './menu-sync.ts';

const row = (id: string, over: Partial<SyncedItem> = {}): SyncedItem => ({
  id,
  catalog_item_id: `c-${id}`,
  name: `Dish ${id}`,
  price_cents: 10_000,
  is_available: true,
  catalog_price_cents: 10_000,
  catalog_available: true,
  position: 0,
  ...over,
});
const live = (id: string, over: Partial<{ name: string; price_cents: number; available: boolean }> = {}) => ({
  id: `c-${id}`,
  name: `Dish ${id}`,
  price_cents: 10_000,
  available: true,
  ...over,
});
const plan = (current: SyncedItem[], catalog: ReturnType<typeof live>[]) => {
  const result = planMenuSync(current, catalog, () => 'new-id');
  assert.ok(result.ok, JSON.stringify(result));
  return result.plan;
};

describe('menu sync: the newer change wins', () => {
  it("takes the catalog's price when the catalog changed it, and keeps an owner's when it did not", () => {
    const ownerEdited = row('a', { price_cents: 9_000 }); // the catalog still says 10_000, as last seen
    assert.deepEqual(plan([ownerEdited], [live('a')]).changes, []);
    const moved = plan([ownerEdited], [live('a', { price_cents: 10_500 })]);
    assert.deepEqual(moved.changes, [{ menu_item_id: 'a', field: 'price_cents', old_value: 9_000, new_value: 10_500 }]);
    assert.equal(moved.updates[0]!.catalog_price_cents, 10_500);
  });

  it('takes every catalog value for an item it has never seen', () => {
    const unseen = row('a', { price_cents: 9_000, catalog_price_cents: null, catalog_available: null });
    assert.deepEqual(plan([unseen], [live('a')]).changes.map((c) => c.field), ['price_cents']);
  });

  it('adds new items after the others and marks vanished ones unavailable, once', () => {
    const p = plan([row('a', { position: 4 }), row('b')], [live('a'), live('z', { name: 'Kulfi' })]);
    assert.deepEqual(p.inserts.map((i) => [i.id, i.catalog_item_id, i.name, i.position]), [['new-id', 'c-z', 'Kulfi', 5]]);
    assert.deepEqual(p.changes.filter((c) => c.menu_item_id === 'b'), [{ menu_item_id: 'b', field: 'is_available', old_value: true, new_value: false }]);
    const vanished = row('b', { is_available: false, catalog_available: false });
    assert.deepEqual(plan([row('a'), vanished], [live('a')]).updates.map((u) => u.id), ['a'], 'already seen as gone: nothing to write');
  });

  it('refuses an answer that lists an item twice or prices one below 1, whole', () => {
    assert.equal(planMenuSync([], [live('a'), live('a')], () => 'x').ok, false);
    assert.equal(planMenuSync([], [live('a', { price_cents: 0 })], () => 'x').ok, false);
  });

  it('judges availability at checkout as the next sync would', () => {
    assert.equal(availableNow(row('a'), { available: false }), false, 'the catalog took it off since the last sync');
    assert.equal(availableNow(row('a', { is_available: false }), { available: true }), false, "an owner's edit the catalog has not overridden");
    assert.equal(availableNow(row('a', { is_available: false, catalog_available: false }), { available: true }), true, 'the catalog put it back');
    assert.deepEqual(withLiveAvailability([row('a')], { items: [live('a', { available: false })] }).map((d) => d.is_available), [false]);
    assert.deepEqual(withLiveAvailability([row('a')], undefined).map((d) => d.is_available), [true]);
  });

  it('calls a menu stale when its last sync failed, never happened, or is too old', () => {
    const now = Date.now();
    assert.equal(isMenuStale(new Date(now - 1_000), null, now, 180_000), false);
    assert.equal(isMenuStale(new Date(now - 1_000), 'timeout', now, 180_000), true);
    assert.equal(isMenuStale(null, null, now, 180_000), true);
    assert.equal(isMenuStale(new Date(now - 181_000), null, now, 180_000), true);
  });
});
