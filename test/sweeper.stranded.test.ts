import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Actor, CENTER, createRestaurant, createUser, deliveryCast, eventually, placeOrder, setup } from './helper.ts';

/** Couriers silent for 2 s are taken off shift, and the sweeper looks for their orders every 200 ms. */
const ctx = await setup({ env: { COURIER_OFF_SHIFT_AFTER_MS: '2000', COURIER_STALE_AFTER_MS: '1000', SWEEP_INTERVAL_MS: '200' } });

async function act(who: Actor, orderId: string, path: string, payload: object = {}) {
  const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/${path}`, headers: who.auth, payload });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
}

async function stored(orderId: string) {
  const { rows } = await ctx.sql.query<{ status: string; courier_id: string | null; version: number }>(
    'SELECT status, courier_id, version FROM orders WHERE id = $1',
    [orderId],
  );
  return rows[0]!;
}

async function releases(orderId: string) {
  const { rows } = await ctx.sql.query<{ courier_id: string; actor_role: string; reason: string; from_status: string; to_status: string }>(
    `SELECT courier_id, actor_role, reason, from_status, to_status FROM order_events WHERE order_id = $1 AND kind = 'courier_unassigned'`,
    [orderId],
  );
  return rows;
}

describe('orders of a courier who went silent', () => {
  it('go back to dispatch if not picked up, with the courier named in the log; one in the bag stays with its courier, who may still deliver it', async () => {
    const { customer, owner, courier, admin, restaurant } = await deliveryCast(ctx);
    const waiting = await placeOrder(ctx, customer, restaurant);
    const carried = await placeOrder(ctx, customer, restaurant);
    for (const path of ['preparing', 'ready']) await act(owner, carried.id, path);

    // On shift, then both orders assigned while the shift lasts (it ends after 2 s without a fix).
    const on = await ctx.app.inject({ method: 'POST', url: '/v1/courier/shift', headers: courier.auth, payload: { online: true, ...CENTER } });
    assert.equal(on.statusCode, 200, on.body);
    await act(admin, waiting.id, 'assign', { courier_id: courier.id });
    await act(admin, carried.id, 'assign', { courier_id: courier.id });
    await act(courier, carried.id, 'picked-up');
    const before = await stored(waiting.id);
    assert.equal(before.courier_id, courier.id);

    // No fix comes: past 2 s the courier is taken off shift, and the next sweep gives the order back.
    const released = await eventually('the waiting order released', async () => (await stored(waiting.id)).courier_id === null && stored(waiting.id), 15_000);
    assert.equal(released.status, 'confirmed', 'the status stays where it was');
    assert.equal(released.version, before.version + 1, 'one versioned move');
    assert.deepEqual(await releases(waiting.id), [
      { courier_id: courier.id, actor_role: 'system', reason: 'courier_off_shift', from_status: 'confirmed', to_status: 'confirmed' },
    ]);
    const { rows } = await ctx.sql.query<{ on_shift: boolean }>('SELECT on_shift FROM couriers WHERE user_id = $1', [courier.id]);
    assert.equal(rows[0]!.on_shift, false);

    const bag = await stored(carried.id);
    assert.deepEqual([bag.status, bag.courier_id], ['picked_up', courier.id]);
    assert.deepEqual(await releases(carried.id), []);
    await act(courier, carried.id, 'delivered');
  });

  it('leave alone an order an admin hands to a courier already off shift', async () => {
    const owner = await createUser(ctx, 'restaurant');
    const courier = await createUser(ctx, 'courier');
    const admin = await createUser(ctx, 'admin');
    const restaurant = await createRestaurant(ctx, owner, { pos: true });
    const on = await ctx.app.inject({ method: 'POST', url: '/v1/courier/shift', headers: courier.auth, payload: { online: true, ...CENTER } });
    assert.equal(on.statusCode, 200, on.body);
    const off = await ctx.app.inject({ method: 'POST', url: '/v1/courier/shift', headers: courier.auth, payload: { online: false } });
    assert.equal(off.statusCode, 200, off.body);
    const order = await placeOrder(ctx, await createUser(ctx, 'customer'), restaurant);
    await act(admin, order.id, 'assign', { courier_id: courier.id });
    // Several sweeps later (every 200 ms), the admin's choice stands.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await stored(order.id)).courier_id, courier.id);
    assert.deepEqual(await releases(order.id), []);
  });
});
