import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRestaurant, createUser, placeOrder, setup } from './helper.ts';

const ctx = await setup();

describe('order lifecycle', () => {
  it('walks placed → delivered through the owners of each step and records every change', async () => {
    const customer = await createUser(ctx, 'customer');
    const owner = await createUser(ctx, 'restaurant');
    const courier = await createUser(ctx, 'courier');
    const admin = await createUser(ctx, 'admin');
    const restaurant = await createRestaurant(ctx, owner);
    const order = await placeOrder(ctx, customer, restaurant);
    assert.equal(order.status, 'placed');

    // Actions without a reason are sent with no body at all, as `curl -X POST` would.
    const act = async (who: { auth: Record<string, string> }, path: string, payload?: object) => {
      const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${order.id}/${path}`, headers: who.auth, ...(payload ? { payload } : {}) });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    assert.equal((await act(owner, 'accept')).status, 'confirmed');
    assert.equal((await act(owner, 'preparing')).status, 'preparing');
    assert.equal((await act(admin, 'assign', { courier_id: courier.id })).courier_id, courier.id);
    assert.equal((await act(owner, 'ready')).status, 'ready');
    assert.equal((await act(courier, 'picked-up')).status, 'picked_up');
    const delivered = await act(courier, 'delivered');
    assert.equal(delivered.status, 'delivered');
    assert.equal(delivered.version, 7);

    const { rows } = await ctx.sql.query(
      'SELECT kind, from_status, to_status, courier_id, actor_id, actor_role FROM order_events WHERE order_id = $1 ORDER BY id',
      [order.id],
    );
    assert.deepEqual(
      rows.map((r) => `${r.kind} ${r.from_status}->${r.to_status}:${r.actor_role}`),
      [
        'status null->placed:customer',
        'status placed->confirmed:restaurant',
        'status confirmed->preparing:restaurant',
        'courier_assigned preparing->preparing:admin',
        'status preparing->ready:restaurant',
        'status ready->picked_up:courier',
        'status picked_up->delivered:courier',
      ],
    );
    assert.equal(rows[3].courier_id, courier.id, 'the assignment names its courier');
    assert.equal(rows[5].actor_id, courier.id);
  });
});
