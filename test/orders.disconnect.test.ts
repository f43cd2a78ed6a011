import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { createRestaurant, createUser, eventually, orderBody, setup } from './helper.ts';

const ctx = await setup();
await ctx.app.listen({ port: 0, host: '127.0.0.1' });
const { port } = ctx.app.server.address() as { port: number };

describe('a customer who hangs up during checkout', () => {
  it('still gets a decided order: checkout finishes, one authorisation, and a retry with the key returns it', async () => {
    const customer = await createUser(ctx, 'customer');
    const owner = await createUser(ctx, 'restaurant');
    const restaurant = await createRestaurant(ctx, owner, { pos: true });
    // Slow enough that the client is gone long before payment and POS answer.
    await ctx.sim.set('payments', { median_ms: 600, p99_ms: 800 });
    await ctx.sim.set('pos', { median_ms: 600, p99_ms: 800 });
    const key = randomUUID();
    const request = {
      method: 'POST',
      headers: { ...customer.auth, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(orderBody(restaurant)),
    };

    const hangUp = new AbortController();
    const sent = fetch(`http://127.0.0.1:${port}/v1/orders`, { ...request, signal: hangUp.signal });
    await sleep(200);
    hangUp.abort();
    await assert.rejects(sent, { name: 'AbortError' });

    const order = await eventually('the abandoned order to be decided', async () => {
      const { rows } = await ctx.sql.query(
        'SELECT id, status, payment_state, authorization_id FROM orders WHERE customer_id = $1 AND idempotency_key = $2',
        [customer.id, key],
      );
      return rows[0] && rows[0].status !== 'placed' ? rows[0] : undefined;
    });
    assert.equal(order.status, 'confirmed');
    assert.equal(order.payment_state, 'authorized');
    const authorizations = (await ctx.sim.ledger(order.id)).filter((e) => e.kind === 'authorize' && !e.replay);
    assert.equal(authorizations.length, 1);
    assert.equal(authorizations[0]!.authorization_id, order.authorization_id);

    await ctx.sim.fast();
    const retry = await fetch(`http://127.0.0.1:${port}/v1/orders`, request);
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await retry.json()) as { id: string }).id, order.id);
  });
});
