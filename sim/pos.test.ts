import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { useSim } from './testing.ts';

const sim = useSim();

const submit = (orderId: string, restaurantId: string, key = `k-${orderId}`) =>
  sim.call('POST', '/pos/v1/orders', {
    order_id: orderId,
    restaurant_id: restaurantId,
    items: [
      { menu_item_id: 'dosa', quantity: 2 },
      { menu_item_id: 'chai', quantity: 1 },
    ],
    idempotency_key: key,
  });

describe('pos sim', () => {
  beforeEach(() => sim.fast());

  it('accepts an order once per idempotency key and records the retry', async () => {
    const first = await submit('p-1', 'r-1');
    assert.equal(first.status, 201);
    assert.equal(first.body.status, 'accepted');
    assert.ok(first.body.prep_minutes > 0);
    assert.deepEqual(await submit('p-1', 'r-1'), first);
    const { orders } = (await sim.call('GET', '/_sim/pos/orders?order_id=p-1')).body;
    assert.equal(orders.length, 1);
    assert.equal(orders[0].replays, 1);
  });

  it('rejects orders at a closed restaurant', async () => {
    await sim.call('PUT', '/_sim/pos/restaurants/r-2', { closed: true });
    const res = await submit('p-2', 'r-2');
    assert.equal(res.status, 409);
    assert.deepEqual(res.body, { status: 'rejected', reason: 'closed' });
  });

  it('rejects orders with out-of-stock items and names them', async () => {
    await sim.call('PUT', '/_sim/pos/restaurants/r-3', { out_of_stock: ['chai'] });
    const res = await submit('p-3', 'r-3');
    assert.equal(res.status, 409);
    assert.deepEqual(res.body, { status: 'rejected', reason: 'out_of_stock', items: ['chai'] });
  });

  it('cancels an accepted order', async () => {
    const { pos_order_id } = (await submit('p-4', 'r-4')).body;
    const res = await sim.call('POST', `/pos/v1/orders/${pos_order_id}/cancel`, { idempotency_key: 'c-4' });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'cancelled');
    const { orders } = (await sim.call('GET', '/_sim/pos/orders?order_id=p-4')).body;
    assert.equal(orders[0].status, 'cancelled');
    assert.equal((await sim.call('POST', '/pos/v1/orders/pos_missing/cancel', { idempotency_key: 'c-5' })).status, 404);
  });

  it('validates orders and restaurant settings', async () => {
    const bad = await sim.call('POST', '/pos/v1/orders', {
      order_id: 'p-6',
      items: [{ menu_item_id: 'x', quantity: 0 }],
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.body.fields).sort(), ['idempotency_key', 'items[0].quantity', 'restaurant_id']);
    assert.equal((await sim.call('PUT', '/_sim/pos/restaurants/r-6', { closed: 'yes' })).status, 400);
  });
});
