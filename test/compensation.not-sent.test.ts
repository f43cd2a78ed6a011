import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRestaurant, createUser, eventually, placeOrder, setup } from './helper.ts';

// A breaker that opens after two failed attempts, still open for the order placed right after, and
// half-open again by the time compensation replays the first order's authorisation.
const ctx = await setup({ env: { PARTNER_BREAKER_THRESHOLD: '2', PARTNER_BREAKER_HALF_OPEN_MS: '1500' } });

async function stored(orderId: string) {
  const { rows } = await ctx.sql.query<{ status: string; payment_state: string }>('SELECT status, payment_state FROM orders WHERE id = $1', [orderId]);
  return rows[0]!;
}

async function compensated(orderId: string) {
  const { rows } = await ctx.sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'compensate' AND data->>'orderId' = $1 AND state = 'completed'`,
    [orderId],
  );
  return rows[0]!.n > 0;
}

describe('compensating a payment that never left dabba', () => {
  it('a call refused by the open breaker is not_sent: compensation makes no new hold to void, unlike a call that may have arrived', async () => {
    const customer = await createUser(ctx, 'customer');
    const restaurant = await createRestaurant(ctx, await createUser(ctx, 'restaurant'));
    await ctx.sim.set('payments', { mode: 'down' });
    let reached: { id: string };
    let refused: { id: string };
    try {
      // The gateway drops the connections: the attempts went out, so the outcome is unknown.
      reached = await placeOrder(ctx, customer, restaurant);
      // Now the breaker is open: nothing of this call leaves the process.
      refused = await placeOrder(ctx, customer, restaurant);
    } finally {
      await ctx.sim.fast();
    }
    assert.deepEqual(await stored(reached.id), { status: 'payment_failed', payment_state: 'unknown' });
    assert.equal((await stored(refused.id)).payment_state, 'not_sent');
    assert.equal((await stored(refused.id)).status, 'payment_failed');

    await eventually('both compensations ran', async () => (await compensated(reached.id)) && (await compensated(refused.id)), 30_000);
    assert.deepEqual(await ctx.sim.ledger(refused.id), [], 'no authorisation was ever made for the refused order');
    assert.equal((await stored(refused.id)).payment_state, 'not_sent');
    // The unknown one was settled by replaying under its key: whatever hold that made is voided.
    const kinds = (await ctx.sim.ledger(reached.id)).filter((e) => !e.replay).map((e) => e.kind);
    assert.deepEqual(kinds, ['authorize', 'void']);
    assert.equal((await stored(reached.id)).payment_state, 'voided');
  });
});
