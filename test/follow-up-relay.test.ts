import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FollowUpOutboxRepository } from '../src/db/repositories/follow-up-outbox.repository.ts';
import { OrderRepository } from '../src/db/repositories/order.repository.ts';
import { FollowUpRelay } from '../src/jobs/follow-up-relay.ts';
import { type TestContext, createRestaurant, createUser, eventually, placeOrder, setup } from './helper.ts';

/** No job workers and no sweeps: each test drives the relay itself and reads the queued jobs. */
const quiet = await setup({ background: false });

async function jobsFor(c: TestContext, orderId: string) {
  const { rows } = await c.sql.query<{ name: string; status: string }>(
    `SELECT name, data->>'status' AS status FROM pgboss.job WHERE data->>'orderId' = $1 ORDER BY name, data->>'status'`,
    [orderId],
  );
  return rows;
}

async function pending(c: TestContext, orderId: string) {
  const { rows } = await c.sql.query<{ to_status: string }>(
    'SELECT to_status FROM order_events WHERE order_id = $1 AND follow_ups_pending ORDER BY id',
    [orderId],
  );
  return rows.map((r) => r.to_status);
}

function relayFor(c: TestContext, errors: unknown[] = []) {
  return new FollowUpRelay({
    db: c.app.db,
    outbox: new FollowUpOutboxRepository(c.app.db),
    jobs: c.app.jobs,
    delayMs: 10,
    sweepMs: 60_000,
    onError: (err) => errors.push(err),
  });
}

/** A status change as a process that dies right after it would leave it: committed, never relayed. */
async function moveWithoutRelay(c: TestContext, order: { id: string; version: number; status: string }, to: 'cancelled') {
  const moved = await new OrderRepository(c.app.db).changeStatus({
    orderId: order.id,
    fromVersion: order.version,
    from: order.status as 'confirmed',
    to,
    actorId: null,
    actorRole: 'system',
    reason: 'test',
  });
  assert.ok(moved, 'the move won');
  return moved;
}

describe('follow-up relay', () => {
  it('queues the follow-ups of a move exactly once, even with two relays racing for them', async () => {
    const customer = await createUser(quiet, 'customer');
    const restaurant = await createRestaurant(quiet, await createUser(quiet, 'restaurant'), { pos: true });
    const order = await placeOrder(quiet, customer, restaurant);
    assert.equal(order.status, 'confirmed');
    // The checkout's own move was relayed by the app: one notification for `confirmed`.
    await eventually('the confirmation relayed', async () => (await pending(quiet, order.id)).length === 0);
    const moved = await moveWithoutRelay(quiet, order, 'cancelled');
    assert.equal(moved.status, 'cancelled', 'the move returns the order as it now is');
    assert.deepEqual(await pending(quiet, order.id), ['cancelled'], 'the move left its follow-ups owed, in the same statement');

    const errors: unknown[] = [];
    const [a, b] = [relayFor(quiet, errors), relayFor(quiet, errors)];
    await Promise.all([a.relayOnce(), b.relayOnce(), a.relayOnce(), b.relayOnce()]);
    assert.deepEqual(errors, []);
    assert.deepEqual(await pending(quiet, order.id), []);
    assert.deepEqual(await jobsFor(quiet, order.id), [
      { name: 'compensate', status: 'cancelled' },
      { name: 'notify', status: 'cancelled' },
      { name: 'notify', status: 'confirmed' },
    ]);
    await Promise.all([a.close(), b.close()]);
  });

  it('relays at start-up what a process that died after its move left owed', async () => {
    const customer = await createUser(quiet, 'customer');
    const restaurant = await createRestaurant(quiet, await createUser(quiet, 'restaurant'), { pos: true });
    const order = await placeOrder(quiet, customer, restaurant);
    await eventually('the confirmation relayed', async () => (await pending(quiet, order.id)).length === 0);
    await moveWithoutRelay(quiet, order, 'cancelled');

    const restarted = relayFor(quiet);
    restarted.start();
    try {
      await eventually('the owed follow-ups queued', async () => (await jobsFor(quiet, order.id)).length === 3);
      assert.deepEqual(await pending(quiet, order.id), []);
    } finally {
      await restarted.close();
    }
  });

  it('a graceful stop relays what is still owed before it returns', async () => {
    const customer = await createUser(quiet, 'customer');
    const restaurant = await createRestaurant(quiet, await createUser(quiet, 'restaurant'), { pos: true });
    const order = await placeOrder(quiet, customer, restaurant);
    await eventually('the confirmation relayed', async () => (await pending(quiet, order.id)).length === 0);
    await moveWithoutRelay(quiet, order, 'cancelled');
    await relayFor(quiet).close();
    assert.deepEqual(await pending(quiet, order.id), []);
    assert.equal((await jobsFor(quiet, order.id)).filter((j) => j.status === 'cancelled').length, 2);
  });
});
