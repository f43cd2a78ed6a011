import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { FollowUpOutboxRepository } from '../src/db/repositories/follow-up-outbox.repository.ts';
import { OrderRepository } from '../src/db/repositories/order.repository.ts';
import { SYSTEM } from '../src/domain/identity.ts';
import { decideMove } from '../src/domain/order-moves.ts';
import { FollowUpRelay } from '../src/jobs/follow-up-relay.ts';
import { JobQueue } from '../src/jobs/job-queue.ts';
import { type TestContext, createRestaurant, createUser, eventually, placeOrder, setup } from './helper.ts';

/** No job workers and no sweeps: each test drives the relay itself and reads the queued jobs. */
const quiet = await setup({ background: false });
/** The test's own queue on the app's database, as a second process would have. */
const jobs = new JobQueue({ url: quiet.url, pollIntervalMs: 500, onError: () => {} });
await jobs.start();
after(() => jobs.stop());

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
    db: c.db,
    outbox: new FollowUpOutboxRepository(c.db),
    jobs,
    delayMs: 10,
    sweepMs: 60_000,
    onError: (err) => errors.push(err),
  });
}

/** A status change as a process that dies right after it would leave it: committed, never relayed. */
async function moveWithoutRelay(c: TestContext, order: { id: string }, to: 'cancelled') {
  const orders = new OrderRepository(c.db);
  const decision = decideMove((await orders.findSnapshot(order.id))!, { to }, SYSTEM, 'test');
  assert.ok(decision.ok, 'the move is allowed');
  const moved = await orders.changeStatus(decision.move);
  assert.ok(moved, 'the move won');
  return moved;
}

/** A confirmed order whose confirmation the app has relayed, then cancelled by a move nobody relayed. */
async function cancelledAndOwed(c: TestContext) {
  const customer = await createUser(c, 'customer');
  const restaurant = await createRestaurant(c, await createUser(c, 'restaurant'), { pos: true });
  const order = await placeOrder(c, customer, restaurant);
  assert.equal(order.status, 'confirmed');
  await eventually('the confirmation relayed', async () => (await pending(c, order.id)).length === 0);
  const moved = await moveWithoutRelay(c, order, 'cancelled');
  return { order, moved };
}

describe('follow-up relay', () => {
  it('queues the follow-ups of a move exactly once, even with two relays racing for them', async () => {
    // The checkout's own move was relayed by the app: one notification for `confirmed`.
    const { order, moved } = await cancelledAndOwed(quiet);
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
    const { order } = await cancelledAndOwed(quiet);

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
    const { order } = await cancelledAndOwed(quiet);
    await relayFor(quiet).close();
    assert.deepEqual(await pending(quiet, order.id), []);
    assert.equal((await jobsFor(quiet, order.id)).filter((j) => j.status === 'cancelled').length, 2);
  });

  it('a relay run that fails part-way queues nothing and leaves the follow-ups owed for the next run', async () => {
    const { order } = await cancelledAndOwed(quiet);
    // The notification's insert goes through; the compensation's is refused, after the claim.
    await quiet.sql.query(`ALTER TABLE pgboss.job_common ADD CONSTRAINT test_no_compensate CHECK (name <> 'compensate') NOT VALID`);
    const errors: unknown[] = [];
    try {
      await assert.rejects(relayFor(quiet, errors).relayOnce(), /test_no_compensate/);
      assert.deepEqual(await pending(quiet, order.id), ['cancelled'], 'the claim was rolled back with the failed insert');
      assert.deepEqual(await jobsFor(quiet, order.id), [{ name: 'notify', status: 'confirmed' }]);
    } finally {
      await quiet.sql.query('ALTER TABLE pgboss.job_common DROP CONSTRAINT test_no_compensate');
    }
    await relayFor(quiet).close();
    assert.deepEqual(await pending(quiet, order.id), []);
    assert.deepEqual(await jobsFor(quiet, order.id), [
      { name: 'compensate', status: 'cancelled' },
      { name: 'notify', status: 'cancelled' },
      { name: 'notify', status: 'confirmed' },
    ]);
  });
});

describe('job workers', () => {
  it('settle each job of a batch on its own: one failure is retried, the rest complete', async () => {
    const ids = Array.from({ length: 5 }, () => randomUUID());
    const failing = ids[2]!;
    await quiet.db.transaction().execute((tx) =>
      jobs.enqueueMany(tx, 'capture', ids.map((orderId) => ({ orderId, status: 'delivered' }))),
    );
    await jobs.work('capture', 1, (batch) =>
      Promise.allSettled(
        batch.map(async (job) => {
          if (job.orderId === failing) throw new Error('the gateway is down');
        }),
      ),
    );
    const states = async () => {
      const { rows } = await quiet.sql.query<{ order_id: string; state: string }>(
        `SELECT data->>'orderId' AS order_id, state FROM pgboss.job WHERE name = 'capture' AND data->>'orderId' = ANY($1)`,
        [ids],
      );
      return new Map(rows.map((r) => [r.order_id, r.state]));
    };
    const settled = await eventually('the batch settled', async () => {
      const now = await states();
      return ids.every((id) => ['completed', 'retry'].includes(now.get(id) ?? '')) && now;
    });
    assert.deepEqual(
      ids.map((id) => settled.get(id)),
      ids.map((id) => (id === failing ? 'retry' : 'completed')),
    );
  });
});
