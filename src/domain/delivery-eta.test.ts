import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type EtaInput, minutesToDelivery, preparationLeftMinutes } from './delivery-eta.ts';
import { offset } from './geo.ts';

const restaurant = { lat: 19.076, lng: 72.8777 };
const NOW = Date.parse('2026-01-01T12:00:00Z');
/** At 20 km/h, 1 km is 3 minutes. */
const base: EtaInput = {
  status: 'ready',
  courier: offset(restaurant, 0, 2),
  restaurant,
  delivery: offset(restaurant, 180, 3),
  speedKmh: 20,
  prepMinutes: 15,
  preparingSince: null,
  now: NOW,
};

describe('minutes to delivery', () => {
  it('rides to the restaurant, then to the customer, when the food is ready', () => {
    assert.equal(minutesToDelivery(base), 6 + 9);
  });

  it('counts only the ride to the customer once the food is picked up', () => {
    const atRestaurant = { ...base, status: 'picked_up' as const, courier: restaurant };
    assert.equal(minutesToDelivery(atRestaurant), 9);
    assert.equal(minutesToDelivery({ ...atRestaurant, courier: offset(restaurant, 180, 2) }), 3);
  });

  it('waits for the food when it takes longer than the ride to the restaurant', () => {
    const minutesAgo = (m: number) => NOW - m * 60_000;
    assert.equal(minutesToDelivery({ ...base, status: 'confirmed' }), 15 + 9);
    assert.equal(minutesToDelivery({ ...base, status: 'preparing', preparingSince: minutesAgo(5) }), 10 + 9);
    // The kitchen is nearly done: the ride to the restaurant (6 min) is the longer wait.
    assert.equal(minutesToDelivery({ ...base, status: 'preparing', preparingSince: minutesAgo(12) }), 6 + 9);
  });

  it('rounds up, so a courier a few metres away is still a minute away', () => {
    assert.equal(minutesToDelivery({ ...base, status: 'picked_up', courier: offset(base.delivery, 90, 0.01) }), 1);
    assert.equal(minutesToDelivery({ ...base, status: 'picked_up', courier: base.delivery }), 0);
  });

  it('has no estimate once the order has ended', () => {
    for (const status of ['delivered', 'cancelled', 'rejected', 'payment_failed'] as const) {
      assert.equal(minutesToDelivery({ ...base, status }), null, status);
    }
  });
});

describe('preparation left', () => {
  it('is all of it before the kitchen starts, what remains while it cooks, none after', () => {
    assert.equal(preparationLeftMinutes({ ...base, status: 'placed' }), 15);
    assert.equal(preparationLeftMinutes({ ...base, status: 'preparing', preparingSince: NOW - 6 * 60_000 }), 9);
    assert.equal(preparationLeftMinutes({ ...base, status: 'preparing', preparingSince: NOW - 60 * 60_000 }), 0);
    assert.equal(preparationLeftMinutes({ ...base, status: 'preparing', preparingSince: null }), 15);
    assert.equal(preparationLeftMinutes({ ...base, status: 'ready' }), 0);
  });
});
