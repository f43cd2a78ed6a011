import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { PgBoss } from 'pg-boss';
import { type Actor, type TestContext, createRestaurant, createUser, eventually, placeOrder, setup } from './helper.ts';
import { metricValue } from './partners.helper.ts';

/** The app's log, to find the alert a dead-lettered follow-up must raise. */
const log = new PassThrough();
const lines: string[] = [];
log.on('data', (chunk) => lines.push(...String(chunk).split('\n').filter(Boolean)));
const ctx = await setup({ logStream: log, env: { LOG_LEVEL: 'info' } });

async function act(c: TestContext, who: Actor, orderId: string, path: string, payload: object = {}) {
  const res = await c.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/${path}`, headers: who.auth, payload });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
}

async function orderState(orderId: string) {
  const { rows } = await ctx.sql.query<{ status: string; payment_state: string; pos_state: string }>(
    'SELECT status, payment_state, pos_state FROM orders WHERE id = $1',
    [orderId],
  );
  return rows[0]!;
}

async function cast(pos: boolean) {
  const customer = await createUser(ctx, 'customer');
  const owner = await createUser(ctx, 'restaurant');
  const courier = await createUser(ctx, 'courier');
  const admin = await createUser(ctx, 'admin');
  const restaurant = await createRestaurant(ctx, owner, { pos });
  return { customer, owner, courier, admin, restaurant };
}

describe('follow-ups that give up', () => {
  it('a follow-up that exhausts its retries waits in the dead letters: counted, alerted, listed for admins, and resent', async () => {
    const people = await cast(false);
    const order = await placeOrder(ctx, people.customer, people.restaurant);
    await act(ctx, people.owner, order.id, 'accept');
    await act(ctx, people.owner, order.id, 'preparing');
    await act(ctx, people.admin, order.id, 'assign', { courier_id: people.courier.id });
    await act(ctx, people.owner, order.id, 'ready');
    await act(ctx, people.courier, order.id, 'picked-up');
    await ctx.sim.set('payments', { mode: 'down' });
    try {
      await act(ctx, people.courier, order.id, 'delivered');
      // A capture with no retries left, as the 51st attempt of the relayed one would be.
      const boss = new PgBoss({ connectionString: ctx.url, max: 1 });
      boss.on('error', () => {});
      await boss.start();
      const jobId = await boss.send('capture', { orderId: order.id, status: 'delivered' }, { retryLimit: 0 });
      await boss.stop({ graceful: false, close: true });
      assert.ok(jobId);

      const admin = people.admin.auth;
      const dead = await eventually('the capture in the dead letters', async () => {
        const res = await ctx.app.inject({ url: '/v1/ops/dead-letters', headers: admin });
        assert.equal(res.statusCode, 200, res.body);
        return (res.json().items as { id: string; queue: string; order_id: string; error: string | null }[]).find(
          (d) => d.order_id === order.id,
        );
      });
      assert.equal(dead.queue, 'capture');
      assert.ok(dead.error, 'the last failure is kept');
      assert.equal(await metricValue(ctx, 'dabba_follow_ups_dead_lettered_total', { queue: 'capture' }), 1);
      const alert = lines.map((l) => JSON.parse(l)).find((l) => l.alert === true && l.orderId === order.id);
      assert.ok(alert, 'an alert-worthy log line names the order');
      assert.equal(alert.level, 50);

      const customer = await ctx.app.inject({ url: '/v1/ops/dead-letters', headers: people.customer.auth });
      assert.equal(customer.statusCode, 403);
      const resendByCourier = await ctx.app.inject({ method: 'POST', url: '/v1/ops/dead-letters/resend', headers: people.courier.auth, payload: { ids: [dead.id] } });
      assert.equal(resendByCourier.statusCode, 403);

      await ctx.sim.set('payments', { mode: 'normal' });
      const resent = await ctx.app.inject({ method: 'POST', url: '/v1/ops/dead-letters/resend', headers: admin, payload: { ids: [dead.id] } });
      assert.equal(resent.statusCode, 200, resent.body);
      assert.deepEqual(resent.json(), { resent: 1 });
      const after = await ctx.app.inject({ url: '/v1/ops/dead-letters', headers: admin });
      assert.equal(after.json().items.some((d: { order_id: string }) => d.order_id === order.id), false);
      await eventually('the capture', async () => (await orderState(order.id)).payment_state === 'captured');
    } finally {
      await ctx.sim.fast();
    }
  });

  it('with the payment gateway down, a cancelled order’s POS ticket is still cancelled at once, and the void follows when it is back', async () => {
    const people = await cast(true);
    const order = await placeOrder(ctx, people.customer, people.restaurant);
    assert.equal(order.status, 'confirmed');
    await ctx.sim.set('payments', { mode: 'down' });
    try {
      await act(ctx, people.customer, order.id, 'cancel');
      const early = await eventually('the kitchen told', async () => {
        const s = await orderState(order.id);
        return s.pos_state === 'cancelled' && s;
      });
      assert.equal(early.payment_state, 'authorized', 'the hold is still there while the gateway is down');
    } finally {
      await ctx.sim.fast();
    }
    await eventually('the void', async () => (await orderState(order.id)).payment_state === 'voided', 30_000);
  });
});
