import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { availableAt, driftedPrice, generatedMenu } from './catalog.sim.ts';
import { useSim } from './testing.ts';

const sim = useSim();
const minute = Math.floor(Date.now() / 60_000);

describe('catalog sim', () => {
  beforeEach(() => sim.fast());

  it('keeps drifted prices within ±10% of base and actually drifts', () => {
    for (const base of [1, 99, 1000, 12_345]) {
      const prices = new Set<number>();
      for (let m = minute; m < minute + 2000; m++) {
        const price = driftedPrice(base, 'item-a', m);
        assert.ok(price >= base * 0.9 && price <= base * 1.1, `${price} vs ${base}`);
        prices.add(price);
      }
      if (base >= 1000) assert.ok(prices.size > 50);
    }
  });

  it('makes about 10% of items unavailable per minute', () => {
    let unavailable = 0;
    for (let m = minute; m < minute + 100; m++)
      for (let i = 0; i < 100; i++) if (!availableAt(`i-${i}`, m)) unavailable++;
    assert.ok(unavailable > 700 && unavailable < 1300, `${unavailable} of 10000`);
  });

  it('generates the same 10 items for a restaurant every time', async () => {
    const a = await sim.call('GET', '/catalog/v1/restaurants/rest-9/menu');
    assert.equal(a.status, 200);
    assert.equal(a.body.restaurant_id, 'rest-9');
    assert.equal(a.body.items.length, 10);
    assert.ok(Date.parse(a.body.as_of) <= Date.now());
    const base = generatedMenu('rest-9');
    assert.deepEqual(
      a.body.items.map((i: { id: string; name: string }) => [i.id, i.name]),
      base.map((i) => [i.id, i.name]),
    );
    assert.notDeepEqual(
      generatedMenu('rest-10').map((i) => i.name),
      base.map((i) => i.name),
    );
  });

  it('serves a configured menu with drifted prices within bounds', async () => {
    const items = [
      { id: 'a', name: 'Idli', price_cents: 4000 },
      { id: 'b', name: 'Vada', price_cents: 5000 },
    ];
    assert.equal((await sim.call('PUT', '/_sim/catalog/restaurants/r-1', { items })).status, 200);
    const menu = (await sim.call('GET', '/catalog/v1/restaurants/r-1/menu')).body;
    assert.deepEqual(
      menu.items.map((i: { id: string }) => i.id),
      ['a', 'b'],
    );
    for (const [i, item] of menu.items.entries()) {
      const base = items[i]!.price_cents;
      assert.ok(item.price_cents >= base * 0.9 && item.price_cents <= base * 1.1);
      assert.equal(typeof item.available, 'boolean');
    }
    await sim.call('PUT', '/_sim/catalog/restaurants/r-1', { items, drift: false });
    const pinned = (await sim.call('GET', '/catalog/v1/restaurants/r-1/menu')).body.items;
    assert.deepEqual(
      pinned.map((i: { price_cents: number }) => i.price_cents),
      [4000, 5000],
    );
  });

  it('keeps an item set with available: false unavailable, with drift and without', async () => {
    const items = [
      { id: 'a', name: 'Idli', price_cents: 4000, available: false },
      { id: 'b', name: 'Vada', price_cents: 5000, available: true },
      { id: 'c', name: 'Dosa', price_cents: 6000 },
    ];
    await sim.call('PUT', '/_sim/catalog/restaurants/r-3', { items, drift: false });
    const pinned = (await sim.call('GET', '/catalog/v1/restaurants/r-3/menu')).body.items;
    assert.deepEqual(
      pinned.map((i: { id: string; available: boolean }) => [i.id, i.available]),
      [['a', false], ['b', true], ['c', true]],
    );
    await sim.call('PUT', '/_sim/catalog/restaurants/r-3', { items });
    const drifting = (await sim.call('GET', '/catalog/v1/restaurants/r-3/menu')).body.items;
    assert.equal(drifting[0].available, false);
    const bad = await sim.call('PUT', '/_sim/catalog/restaurants/r-3', { items: [{ id: 'a', name: 'Idli', price_cents: 1, available: 'no' }] });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.body.fields), ['items[0].available']);
  });

  it('answers 404 for a restaurant nobody set a menu for once generation is off, until reset', async () => {
    assert.equal((await sim.call('PUT', '/_sim/catalog/settings', { generate_unknown: false })).status, 200);
    assert.equal((await sim.call('GET', '/catalog/v1/restaurants/rest-unknown/menu')).status, 404);
    await sim.call('PUT', '/_sim/catalog/restaurants/r-4', { items: [{ id: 'a', name: 'Idli', price_cents: 4000 }] });
    assert.equal((await sim.call('GET', '/catalog/v1/restaurants/r-4/menu')).status, 200, 'a menu that was set is still served');
    assert.equal((await sim.call('PUT', '/_sim/catalog/settings', { generate_unknown: 'no' })).status, 400);
    await sim.call('POST', '/_sim/reset');
    assert.equal((await sim.call('GET', '/catalog/v1/restaurants/rest-unknown/menu')).status, 200);
  });

  it('rejects a malformed menu', async () => {
    const res = await sim.call('PUT', '/_sim/catalog/restaurants/r-2', { items: [{ id: 'a', price_cents: -5 }] });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body.fields).sort(), ['items[0].name', 'items[0].price_cents']);
  });
});
