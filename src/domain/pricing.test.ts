import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_ORDER_TOTAL_CENTS, deliveryFeeCents, formatRupees, priceOrder } from './pricing.ts';

describe('pricing', () => {
  it('adds line totals and a distance-based fee in whole rupees', () => {
    const priced = priceOrder([{ unitPriceCents: 24_900, quantity: 2 }, { unitPriceCents: 9_950, quantity: 1 }], 3.26);
    assert.deepEqual(priced.lineTotals, [49_800, 9_950]);
    assert.equal(priced.subtotalCents, 59_750);
    assert.equal(priced.deliveryFeeCents, 4_600);
    assert.equal(priced.totalCents, 64_350);
  });

  it('charges the base fee at zero distance and grows with distance', () => {
    assert.equal(deliveryFeeCents(0), 2_000);
    assert.ok(deliveryFeeCents(8) > deliveryFeeCents(2));
  });

  it('writes rupees the Indian way for messages', () => {
    assert.equal(formatRupees(MAX_ORDER_TOTAL_CENTS), '₹10,00,000');
    assert.equal(formatRupees(12_345), '₹123.45');
  });
});
