import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PlacementDish, type PlacementRequest, type PlacementRestaurant, decidePlacement } from './order-placement.ts';
import { MAX_ORDER_TOTAL_CENTS, deliveryFeeCents } from './pricing.ts';

const INT4_MAX = 2 ** 31 - 1;
const HERE = { lat: 19.076, lng: 72.8777 };
const restaurant: PlacementRestaurant = { id: 'r-1', ...HERE, is_open: true, delivery_radius_km: 8 };
const dish = (id: string, price_cents: number): PlacementDish => ({ id, name: `Dish ${id}`, price_cents, is_available: true });
const request = (items: PlacementRequest['items']): PlacementRequest => ({ restaurant_id: 'r-1', items, delivery: { ...HERE, address: 'Here' } });
/** Delivering to the restaurant's own door: the fee is the base fee. */
const FEE = deliveryFeeCents(0);

describe('placing an order: the total bound', () => {
  it('keeps the largest allowed total well inside a PostgreSQL integer', () => {
    assert.ok(Number.isSafeInteger(MAX_ORDER_TOTAL_CENTS));
    assert.ok(MAX_ORDER_TOTAL_CENTS * 10 < INT4_MAX);
  });

  it('accepts an order whose total, delivery included, is exactly the maximum', () => {
    const placement = decidePlacement(request([{ menu_item_id: 'a', quantity: 1 }]), restaurant, [dish('a', MAX_ORDER_TOTAL_CENTS - FEE)]);
    assert.ok(placement.ok, JSON.stringify(placement));
    assert.equal(placement.price.totalCents, MAX_ORDER_TOTAL_CENTS);
  });

  it('refuses an order one paisa over the maximum, naming the items', () => {
    const placement = decidePlacement(request([{ menu_item_id: 'a', quantity: 1 }]), restaurant, [dish('a', MAX_ORDER_TOTAL_CENTS - FEE + 1)]);
    assert.ok(!placement.ok);
    assert.deepEqual(placement.problems.map((p) => p.field), ['items']);
    assert.match(placement.detail, /at most ₹10,00,000/);
  });

  it('refuses five dishes at ₹1,00,000 times fifty, which would overflow an integer column', () => {
    const menu = ['a', 'b', 'c', 'd', 'e'].map((id) => dish(id, 10_000_000));
    const placement = decidePlacement(request(menu.map((m) => ({ menu_item_id: m.id, quantity: 50 }))), restaurant, menu);
    assert.ok(!placement.ok);
    assert.deepEqual(placement.problems, [{ field: 'items', message: 'the order total is over ₹10,00,000' }]);
    assert.match(placement.detail, /comes to ₹2,50,00,020/);
  });

  it('reports unknown dishes before the total: a bad line is the thing to fix first', () => {
    const placement = decidePlacement(request([{ menu_item_id: 'nope', quantity: 50 }]), restaurant, [dish('a', 10_000_000)]);
    assert.ok(!placement.ok);
    assert.deepEqual(placement.problems.map((p) => p.field), ['items/0/menu_item_id']);
  });
});

describe('placing an order: the price the customer was shown', () => {
  it('accepts a line whose shown price is the price, and one that shows none', () => {
    const placement = decidePlacement(
      request([{ menu_item_id: 'a', quantity: 1, expected_unit_price_cents: 12_000 }, { menu_item_id: 'b', quantity: 1 }]),
      restaurant,
      [dish('a', 12_000), dish('b', 5_000)],
    );
    assert.ok(placement.ok, JSON.stringify(placement));
  });

  it('refuses, with both figures per changed line, when a shown price is not the price: it never sets the price', () => {
    const placement = decidePlacement(
      request([{ menu_item_id: 'a', quantity: 1, expected_unit_price_cents: 12_000 }, { menu_item_id: 'b', quantity: 1, expected_unit_price_cents: 4_000 }]),
      restaurant,
      [dish('a', 12_000), dish('b', 5_000)],
    );
    assert.ok(!placement.ok);
    assert.deepEqual(placement.priceChanges, [{ field: 'items/1/expected_unit_price_cents', menu_item_id: 'b', shown_cents: 4_000, now_cents: 5_000 }]);
  });
});
