import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Actor, deliveryCast, eventually, placeOrder, setup } from './helper.ts';

/** An app whose sweeper gives up on an order no courier picked up within 3 s of its placing. */
const ctx = await setup({ env: { PICKUP_TIMEOUT_MS: '3000', SWEEP_INTERVAL_MS: '200' } });

async function act(who: Actor, orderId: string, path: string, payload: object = {}) {
  const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/${path}`, headers: who.auth, payload });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
}

async function stored(orderId: string) {
  const { rows } = await ctx.sql.query<{ status: string; status_reason: string | null; payment_state: string; pos_state: string }>(
    'SELECT status, status_reason, payment_state, pos_state FROM orders WHERE id = $1',
    [orderId],
  );
  return rows[0]!;
}

describe('confirmed orders nobody picks up', () => {
  it('are cancelled past PICKUP_TIMEOUT_MS, whether confirmed or ready, with the payment voided, the POS ticket cancelled and the customer told', async () => {
    const { customer, owner, courier, admin, restaurant } = await deliveryCast(ctx);

    const waiting = await placeOrder(ctx, customer, restaurant);
    const cooked = await placeOrder(ctx, customer, restaurant);
    const collected = await placeOrder(ctx, customer, restaurant);
    await act(owner, cooked.id, 'preparing');
    await act(owner, cooked.id, 'ready');
    for (const path of ['preparing', 'ready']) await act(owner, collected.id, path);
    await act(admin, collected.id, 'assign', { courier_id: courier.id });
    await act(courier, collected.id, 'picked-up');

    for (const order of [waiting, cooked]) {
      const row = await eventually('the cancellation and its compensation', async () => {
        const r = await stored(order.id);
        return r.status === 'cancelled' && r.payment_state === 'voided' && r.pos_state === 'cancelled' && r;
      }, 20_000);
      assert.equal(row.status_reason, 'no_courier_picked_up');
    }
    assert.equal((await stored(collected.id)).status, 'picked_up', 'an order with its courier is left alone');

    const told = await eventually('the customer told of both', async () => {
      const sent = (await ctx.sim.control('GET', `/notify/sent?to=${encodeURIComponent(customer.email)}`)) as {
        messages: { template: string; data: { order_id?: string } | null }[];
      };
      const ids = sent.messages.filter((m) => m.template === 'order.cancelled').map((m) => m.data?.order_id);
      return ids.includes(waiting.id) && ids.includes(cooked.id) && ids;
    });
    assert.equal(told.includes(collected.id), false);
  });
});
