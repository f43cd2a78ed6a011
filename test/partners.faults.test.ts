/**
 * Each required partner (payments, POS) slow, erroring, hanging and down, one at a time, and the
 * optional ETA partner down and hanging. Every order must end decided by the checkout deadline, and
 * once the partner is back every failed order must be compensated: its authorisation voided (or never
 * made) and its POS ticket cancelled, with the ledger, the POS and the database in agreement.
 *
 * The breaker threshold is set out of reach here so each failure mode is seen on its own; the
 * breaker has its own test in partners.resilience.test.ts.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { type Partner, setup } from './helper.ts';
import { NO_SHEDDING, type Placed, assertPartnersAgree, metricValue, placeMany, posWorld, waitUntilSettled } from './partners.helper.ts';

const DEADLINE_MS = 1500;
/**
 * Room for the database work around checkout (insert, decision, read back) on a busy machine: generous,
 * because only the deadline's own bound matters here (decided by then, not piling up behind a partner).
 */
const SLACK_MS = 2000;
const ORDERS = 10;

const ctx = await setup({ env: { ...NO_SHEDDING, ORDER_FLOW_DEADLINE_MS: String(DEADLINE_MS), PARTNER_BREAKER_THRESHOLD: '1000' } });

afterEach(() => ctx.sim.fast());

const REQUIRED = {
  payments: { failed: 'payment_failed', unavailable: 'payment_unavailable', responsePaymentState: 'unknown' },
  pos: { failed: 'rejected', unavailable: 'pos_unavailable', responsePaymentState: 'authorized' },
} as const;

const countBy = (orders: Placed[], status: string) => orders.filter((o) => o.status === status).length;

/** Restores every partner, waits for compensation, and checks the partners against the database. */
async function restoreAndReconcile(orders: Placed[]) {
  await ctx.sim.fast();
  const rows = await waitUntilSettled(
    ctx,
    orders.map((o) => o.id),
  );
  await assertPartnersAgree(ctx, rows);
  return rows;
}

for (const partner of ['payments', 'pos'] as const satisfies readonly Partner[]) {
  const { failed, unavailable, responsePaymentState } = REQUIRED[partner];

  describe(`${partner} failing`, () => {
    it(`${partner} slow (median 400 ms, p99 1500 ms): every order is decided within the deadline, none left placed`, async () => {
      const world = await posWorld(ctx);
      await ctx.sim.set(partner, { median_ms: 400, p99_ms: 1500 });
      const orders = await placeMany(ctx, world, ORDERS);

      for (const o of orders) {
        assert.ok(o.status === 'confirmed' || o.status === failed, `order ${o.id} ended ${o.status}`);
        if (o.status === failed) assert.match(o.status_reason ?? '', new RegExp(`^${unavailable}: (timeout|aborted)$`));
        assert.ok(o.elapsedMs < DEADLINE_MS + SLACK_MS, `order ${o.id} took ${Math.round(o.elapsedMs)} ms`);
      }
      assert.ok(countBy(orders, 'confirmed') >= ORDERS / 2, `only ${countBy(orders, 'confirmed')}/${ORDERS} confirmed`);
      await restoreAndReconcile(orders);
    });

    it(`${partner} erroring 50%: retries under the same idempotency key confirm most orders and never charge twice`, async () => {
      const world = await posWorld(ctx);
      const operation = partner === 'payments' ? 'authorize' : 'submit';
      const attemptsBefore = await metricValue(ctx, 'dabba_partner_attempts_total', { partner, operation });
      await ctx.sim.set(partner, { error_rate: 0.5 });
      const orders = await placeMany(ctx, world, ORDERS);
      const attempts = (await metricValue(ctx, 'dabba_partner_attempts_total', { partner, operation })) - attemptsBefore;

      for (const o of orders) {
        assert.ok(o.status === 'confirmed' || o.status === failed, `order ${o.id} ended ${o.status}`);
        if (o.status === failed) assert.equal(o.status_reason, `${unavailable}: unavailable`);
      }
      assert.ok(countBy(orders, 'confirmed') >= ORDERS / 2, `only ${countBy(orders, 'confirmed')}/${ORDERS} confirmed`);
      assert.ok(attempts > ORDERS, `expected retries: ${attempts} ${operation} attempts for ${ORDERS} orders`);
      await restoreAndReconcile(orders);
    });

    it(`${partner} hanging: the answer comes back at the deadline, failed with ${unavailable}, and is compensated later`, async () => {
      const world = await posWorld(ctx);
      await ctx.sim.set(partner, { mode: 'hang' });
      const orders = await placeMany(ctx, world, ORDERS);

      for (const o of orders) {
        assert.equal(o.status, failed, `order ${o.id}`);
        assert.match(o.status_reason ?? '', new RegExp(`^${unavailable}: (timeout|aborted)$`));
        assert.equal(o.payment_state, responsePaymentState);
        assert.ok(o.elapsedMs >= DEADLINE_MS - 50, `order ${o.id} failed after ${Math.round(o.elapsedMs)} ms, before the deadline`);
        assert.ok(o.elapsedMs < DEADLINE_MS + SLACK_MS, `order ${o.id} took ${Math.round(o.elapsedMs)} ms`);
      }
      const rows = await restoreAndReconcile(orders);
      if (partner === 'pos') assert.ok(rows.every((r) => r.payment_state === 'voided'), 'every authorised payment was voided');
    });

    it(`${partner} down: orders fail fast with ${unavailable} and are compensated once it is back`, async () => {
      const world = await posWorld(ctx);
      await ctx.sim.set(partner, { mode: 'down' });
      const orders = await placeMany(ctx, world, ORDERS);

      for (const o of orders) {
        assert.equal(o.status, failed, `order ${o.id}`);
        assert.equal(o.status_reason, `${unavailable}: unavailable`);
        assert.equal(o.payment_state, responsePaymentState);
        // Connection resets fail each attempt at once: no waiting out the deadline as with a hang.
        assert.ok(o.elapsedMs < DEADLINE_MS, `order ${o.id} took ${Math.round(o.elapsedMs)} ms to fail against a partner that is down`);
      }
      const rows = await restoreAndReconcile(orders);
      // Payment was authorised before the POS failed: each of these must have been voided, not left held.
      if (partner === 'pos') assert.ok(rows.every((r) => r.payment_state === 'voided'), 'every authorised payment was voided');
    });
  });
}

describe('ETA failing (optional partner)', () => {
  for (const [name, mode] of [
    ['down', 'down'],
    ['hanging', 'hang'],
  ] as const) {
    it(`ETA ${name}: orders still confirm, with eta_minutes null`, async () => {
      const world = await posWorld(ctx);
      await ctx.sim.set('eta', { mode });
      const orders = await placeMany(ctx, world, ORDERS);

      for (const o of orders) {
        assert.equal(o.status, 'confirmed', `order ${o.id}: ${o.status_reason}`);
        assert.equal(o.payment_state, 'authorized');
        assert.equal(o.eta_minutes, null);
        assert.ok(o.elapsedMs < DEADLINE_MS + SLACK_MS, `order ${o.id} took ${Math.round(o.elapsedMs)} ms`);
      }
      const rows = await restoreAndReconcile(orders);
      assert.ok(rows.every((r) => r.eta_minutes === null));
    });
  }

  it('ETA healthy: the same orders get an eta_minutes (the check above can tell the difference)', async () => {
    const world = await posWorld(ctx);
    const orders = await placeMany(ctx, world, 3);
    for (const o of orders) {
      assert.equal(o.status, 'confirmed');
      assert.ok(Number.isInteger(o.eta_minutes) && o.eta_minutes! > 0, `eta_minutes ${o.eta_minutes}`);
    }
  });
});
