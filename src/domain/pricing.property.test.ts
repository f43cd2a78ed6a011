import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { offset } from './geo.ts';
import { decidePlacement } from './order-placement.ts';
import { MAX_ORDER_TOTAL_CENTS, deliveryFeeCents, priceOrder } from './pricing.ts';

const CENTER = { lat: 19.076, lng: 72.8777 };

/** A cart as the API admits it: 1–30 lines, 1–50 of each, menu prices up to the menu maximum. */
const cart = fc.array(
  fc.record({ unitPriceCents: fc.integer({ min: 1, max: 10_000_000 }), quantity: fc.integer({ min: 1, max: 50 }) }),
  { minLength: 1, maxLength: 30 },
);

describe('pricing, for any cart', () => {
  it('is exact in integer paise: each line is price × quantity, the subtotal their sum, the total subtotal + fee', () => {
    fc.assert(
      fc.property(cart, fc.double({ min: 0, max: 50, noNaN: true }), (lines, km) => {
        const price = priceOrder(lines, km);
        for (const [i, line] of lines.entries()) assert.equal(price.lineTotals[i], line.unitPriceCents * line.quantity);
        const sum = lines.reduce((a, l) => a + l.unitPriceCents * l.quantity, 0);
        assert.equal(price.subtotalCents, sum);
        assert.equal(price.deliveryFeeCents, deliveryFeeCents(km));
        assert.equal(price.deliveryFeeCents % 100, 0, 'the fee is whole rupees');
        assert.equal(price.totalCents, sum + price.deliveryFeeCents);
        for (const n of [...price.lineTotals, price.subtotalCents, price.totalCents]) assert.ok(Number.isSafeInteger(n), `${n}`);
      }),
      { seed: 9001, numRuns: 2_000 },
    );
  });

  it('an order is placed at the menu’s prices exactly when its total fits the cap; otherwise refused at items', () => {
    const seen = { placed: 0, refused: 0 };
    fc.assert(
      fc.property(cart, fc.double({ min: 0, max: 7.9, noNaN: true }), fc.double({ min: 0, max: 359, noNaN: true }), (lines, km, bearing) => {
        const restaurant = { id: 'r', is_open: true, delivery_radius_km: 8, ...CENTER };
        const menu = lines.map((l, i) => ({ id: `m${i}`, name: `Dish ${i}`, price_cents: l.unitPriceCents, is_available: true }));
        const request = {
          restaurant_id: 'r',
          items: lines.map((l, i) => ({ menu_item_id: `m${i}`, quantity: l.quantity })),
          delivery: { ...offset(CENTER, bearing, km), address: 'x' },
        };
        const placement = decidePlacement(request, restaurant, menu);
        const expected = priceOrder(lines, placement.ok ? placement.distanceKm : km);
        seen[placement.ok ? 'placed' : 'refused']++;
        if (placement.ok) {
          assert.ok(placement.price.totalCents <= MAX_ORDER_TOTAL_CENTS);
          assert.deepEqual(placement.lines.map((l) => l.unit_price_cents), lines.map((l) => l.unitPriceCents));
          assert.deepEqual(placement.lines.map((l) => l.line_total_cents), expected.lineTotals);
        } else {
          assert.ok(expected.subtotalCents + deliveryFeeCents(km) > MAX_ORDER_TOTAL_CENTS - 100, 'refused only for its size');
          assert.deepEqual(placement.problems.map((p) => p.field), ['items']);
        }
      }),
      { seed: 9002, numRuns: 2_000 },
    );
    // Both sides of the cap must have been tried, or the property says nothing about one of them.
    assert.ok(seen.placed > 100 && seen.refused > 100, JSON.stringify(seen));
  });
});
