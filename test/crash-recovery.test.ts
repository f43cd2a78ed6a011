import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createSigner } from 'fast-jwt';
import pg from 'pg';
import { offset } from '../src/domain/geo.ts';
import { CENTER, type LedgerEntry, createTestDatabase, eventually, partnerEnv, startSim } from './helper.ts';
import { freePort } from '../bench/processes.ts';

const CLI = path.resolve('src/cli.ts');
const JWT_SECRET = 'crash-recovery-test-secret-0123456789abcdef';
const ORDERS = 30;
const FINAL_PAYMENT = ['voided', 'declined', 'not_sent'];

const children: ChildProcess[] = [];

function serve(env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => output };
}

async function waitReady(base: string, proc: ReturnType<typeof serve>, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`exited early:\n${proc.output()}`);
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready in ${ms} ms:\n${proc.output()}`);
}

function withTimeout<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]);
}

interface OrderRow {
  id: string;
  restaurant_id: string;
  status: string;
  status_reason: string | null;
  payment_state: string;
  authorization_id: string | null;
  pos_state: string;
  pos_order_id: string | null;
}

describe('crash recovery', () => {
  it('after kill -9 mid-checkout and a restart, every order ends confirmed with one live authorisation, or failed with none', async (t) => {
    const db = await createTestDatabase();
    const sim = await startSim();
    const sql = new pg.Pool({ connectionString: db.url, max: 2 });
    sql.on('error', () => {});
    t.after(async () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await sim.server.close();
      await sql.end();
      await db.drop();
    });

    // A quick gateway and a slow POS (still inside its 1.5 s attempt timeout): every POS checkout spends
    // about a second authorised but unrecorded, so the kill below lands in that window for many orders at
    // once, not for one that may be recorded between seeing it and the signal arriving.
    await sim.set('payments', { median_ms: 150, p99_ms: 400 });
    await sim.set('pos', { median_ms: 1200, p99_ms: 1450 });

    const { rows: users } = await sql.query<{ id: string; role: string }>(
      `INSERT INTO users (email, name, role, password_hash) VALUES
         ('crash-customer@dabba.test', 'Crash Customer', 'customer', 'x'),
         ('crash-owner@dabba.test', 'Crash Owner', 'restaurant', 'x')
       RETURNING id, role`,
    );
    const customerId = users.find((u) => u.role === 'customer')!.id;
    const ownerId = users.find((u) => u.role === 'restaurant')!.id;
    const at = offset(CENTER, 45, 1);
    const { rows: restaurants } = await sql.query<{ id: string }>(
      `INSERT INTO restaurants (owner_id, name, cuisine, address, lat, lng, delivery_radius_km, prep_minutes, is_open, pos_integrated)
       VALUES ($1, 'Crash Kitchen', 'Street Food', '1 Test Road', $2, $3, 8, 15, true, true) RETURNING id`,
      [ownerId, at.lat, at.lng],
    );
    const restaurantId = restaurants[0]!.id;
    // A tablet restaurant too: its checkout ends with the order placed and authorised, waiting for staff.
    const { rows: tablets } = await sql.query<{ id: string }>(
      `INSERT INTO restaurants (owner_id, name, cuisine, address, lat, lng, delivery_radius_km, prep_minutes, is_open, pos_integrated)
       VALUES ($1, 'Crash Tablet Kitchen', 'Street Food', '2 Test Road', $2, $3, 8, 15, true, false) RETURNING id`,
      [ownerId, at.lat, at.lng],
    );
    const tabletId = tablets[0]!.id;
    const { rows: items } = await sql.query<{ id: string }>(
      `INSERT INTO menu_items (restaurant_id, name, category, price_cents, position)
       VALUES ($1, 'Vada Pav', 'Mains', 4000, 0), ($1, 'Misal', 'Mains', 9000, 1) RETURNING id`,
      [restaurantId],
    );
    const { rows: tabletItems } = await sql.query<{ id: string }>(
      `INSERT INTO menu_items (restaurant_id, name, category, price_cents, position) VALUES ($1, 'Pav Bhaji', 'Mains', 6000, 0) RETURNING id`,
      [tabletId],
    );
    const token = createSigner({ key: JWT_SECRET, algorithm: 'HS256', iss: 'dabba', aud: 'dabba-api', expiresIn: 3_600_000 })({
      sub: customerId,
      role: 'customer',
      ver: 1,
    });

    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      ...partnerEnv(sim),
      DATABASE_URL: db.url,
      PORT: String(port),
      NODE_ENV: 'test',
      JWT_SECRET,
      SEED_DEMO: 'false',
      PLACED_STUCK_AFTER_MS: '3000',
      // Nobody at the tablet restaurant answers: its orders are rejected and voided after a second.
      TABLET_ACCEPT_TIMEOUT_MS: '1000',
      SWEEP_INTERVAL_MS: '500',
      JOB_POLL_INTERVAL_MS: '500',
      LOG_LEVEL: 'warn',
      // As in testConfig(): shedding is not what this test is about, and a busy test machine must not turn the burst into 503s.
      SHED_MAX_LOOP_DELAY_MS: '0',
      // Its restaurants are not in the catalog simulator: a sync would mark their dishes unavailable.
      MENU_SYNC_CRON: 'off',
      WORKERS: '1', // one process: SIGKILL must take the whole API down
    };

    // 1. Orders in flight, then the API dies without any chance to clean up.
    const first = serve(env);
    await waitReady(base, first);
    const answered: { status: number; id?: string }[] = [];
    const cutOff: unknown[] = [];
    const order = (i: number) =>
      fetch(`${base}/v1/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': `crash-${randomUUID()}` },
        body: JSON.stringify({
          // Two in three orders to the POS restaurant, where a checkout cut short is the dangerous case.
          restaurant_id: i % 3 === 2 ? tabletId : restaurantId,
          items: [{ menu_item_id: i % 3 === 2 ? tabletItems[0]!.id : items[i % items.length]!.id, quantity: 1 + (i % 3) }],
          delivery: { ...offset(CENTER, 90, 1), address: '12 Marine Drive' },
        }),
        signal: AbortSignal.timeout(20_000),
      }).then(
        async (res) => {
          const body = (await res.json().catch(() => ({}))) as { id?: string };
          answered.push({ status: res.status, id: body.id });
        },
        (err: unknown) => cutOff.push(err),
      );
    // One order all the way through first, so the burst below is not slowed by a cold process.
    await order(ORDERS);
    const fired = Date.now();
    const requests = Array.from({ length: ORDERS }, (_, i) => order(i));
    // Kill at the dangerous moment: the gateway has authorised POS orders whose checkouts have not yet
    // recorded it (still pending while the POS answers), so only recovery can release or confirm them;
    // a few of them, and a tablet order stored, so the moment holds for the signal's short trip.
    const dangerousNow = async () => {
      const authorised = new Set((await sim.ledger()).filter((e) => e.kind === 'authorize' && e.outcome === 'authorized').map((e) => e.order_id));
      const { rows } = await sql.query<{ id: string; restaurant_id: string; payment_state: string }>(
        `SELECT id, restaurant_id, payment_state FROM orders WHERE status = 'placed'`,
      );
      const orphaned = rows.filter((r) => r.restaurant_id === restaurantId && r.payment_state === 'pending' && authorised.has(r.id));
      return orphaned.length >= 3 && rows.some((r) => r.restaurant_id === tabletId);
    };
    while (Date.now() - fired < 5_000 && !(await dangerousNow())) await new Promise((r) => setTimeout(r, 10));
    first.child.kill('SIGKILL');
    const [, signal] = await withTimeout('the killed process', first.exited, 10_000);
    assert.equal(signal, 'SIGKILL');
    await withTimeout('the cut-off requests', Promise.all(requests), 10_000);

    const { rows: atCrash } = await sql.query<OrderRow>('SELECT * FROM orders');
    const midFlow = atCrash.filter((o) => o.status === 'placed');
    assert.ok(atCrash.length >= 5, `only ${atCrash.length} orders reached the database before the kill; answers ${JSON.stringify(answered)}, ${cutOff.length} cut off:\n${first.output()}`);
    assert.ok(midFlow.length >= 1, 'the kill interrupted no checkout, so this test proves nothing; the partners are too fast');
    const authorizedAtCrash = (await sim.ledger()).filter((e) => e.kind === 'authorize' && e.outcome === 'authorized');
    const orphaned = midFlow.filter(
      (o) => o.restaurant_id === restaurantId && o.payment_state === 'pending' && authorizedAtCrash.some((e) => e.order_id === o.id),
    );
    assert.ok(orphaned.length >= 1, 'the kill left no authorised payment unrecorded, so recovery of one is not proven');
    assert.ok(atCrash.some((o) => o.restaurant_id === tabletId), 'no tablet order reached the database before the kill');

    // 2. The same command again: the sweeper and the durable jobs must settle everything.
    const { rows: clock } = await sql.query<{ now: Date }>('SELECT now()');
    const restartedAt = clock[0]!.now;
    const second = serve(env);
    try {
      await waitReady(base, second);
      await eventually(
        'no order placed, and every failed order compensated',
        async () => {
          const { rows } = await sql.query<{ unsettled: number }>(
            `SELECT count(*)::int AS unsettled FROM orders o JOIN restaurants r ON r.id = o.restaurant_id
              WHERE o.status = 'placed'
                 OR (o.status IN ('payment_failed', 'rejected', 'cancelled')
                     AND (o.payment_state NOT IN ('voided', 'declined', 'not_sent')
                          OR (r.pos_integrated AND o.pos_state IN ('none', 'pending', 'unknown', 'accepted'))))`,
          );
          return rows[0]!.unsettled === 0;
        },
        // Jobs that were running at the kill come back only after pg-boss's expiry (30 s) and its next
        // supervision (10 s), then their retry: settling can take about a minute on a busy machine.
        90_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${second.output()}`);
      });

      const { rows: orders } = await sql.query<OrderRow>('SELECT * FROM orders ORDER BY created_at');
      const ledger = await sim.ledger();
      const { orders: tickets } = (await sim.control('GET', '/pos/orders')) as {
        orders: { order_id: string; pos_order_id: string | null; status: string }[];
      };
      const byOrder = (entries: LedgerEntry[], id: string) => entries.filter((e) => e.order_id === id);

      for (const o of atCrash) assert.ok(orders.some((x) => x.id === o.id), `order ${o.id} was lost in the restart`);
      const { rows: late } = await sql.query('SELECT id FROM orders WHERE created_at >= $1', [restartedAt]);
      assert.deepEqual(late, [], 'no order appeared after the restart');
      for (const order of orders) {
        const entries = byOrder(ledger, order.id);
        const authorizations = entries.filter((e) => e.kind === 'authorize' && e.outcome === 'authorized');
        const ids = new Set(authorizations.map((e) => e.authorization_id));
        const voided = new Set(entries.filter((e) => e.kind === 'void' && e.outcome === 'voided').map((e) => e.authorization_id));
        const live = tickets.filter((t) => t.order_id === order.id && t.status === 'accepted');
        const about = `${order.id} (${order.status}/${order.payment_state}/${order.pos_state}): ${JSON.stringify(entries)}`;

        assert.ok(ids.size <= 1, `two authorisations with different ids for ${about}`);
        assert.equal(entries.filter((e) => e.kind === 'capture').length, 0, `nothing is captured: ${about}`);
        if (order.restaurant_id === tabletId) {
          assert.equal(order.pos_state, 'none', `a tablet order never reaches a POS: ${about}`);
          assert.equal(live.length, 0, about);
        }
        if (order.status === 'confirmed') {
          assert.equal(order.restaurant_id, restaurantId, `nobody accepted at the tablet restaurant: ${about}`);
          assert.equal(order.payment_state, 'authorized', about);
          assert.equal(authorizations.filter((e) => !e.replay).length, 1, `one authorisation for ${about}`);
          assert.equal(order.authorization_id, [...ids][0], about);
          assert.equal(voided.size, 0, `a confirmed order's authorisation was voided: ${about}`);
          assert.equal(live.length, 1, `one live POS ticket for ${about}`);
          assert.equal(live[0]!.pos_order_id, order.pos_order_id, about);
        } else {
          assert.ok(['payment_failed', 'rejected'].includes(order.status), `unexpected status: ${about}`);
          assert.ok(FINAL_PAYMENT.includes(order.payment_state), about);
          for (const id of ids) assert.ok(voided.has(id), `authorisation ${id} left live for ${about}`);
          assert.equal(live.length, 0, `a POS ticket left live for ${about}`);
        }
      }
      for (const { status, id } of answered) {
        if (status !== 200 && status !== 201) continue;
        assert.ok(id && orders.some((o) => o.id === id), `the client was told about order ${id}, which does not exist`);
      }
      for (const o of midFlow) {
        const now = orders.find((x) => x.id === o.id)!;
        assert.notEqual(now.status, 'placed');
      }
      t.diagnostic(
        `${orders.length} orders, ${midFlow.length} mid-checkout at the kill (${orphaned.length} already authorised at the gateway), ` +
          `${answered.filter((a) => a.status < 300).length} answered before it, ${cutOff.length} cut off; after the restart ` +
          `${orders.filter((o) => o.status === 'confirmed').length} confirmed, ${orders.filter((o) => o.status !== 'confirmed').length} failed`,
      );

      // 3. A graceful stop of the survivor.
      second.child.kill('SIGTERM');
      const [code] = await withTimeout('SIGTERM', second.exited, 20_000);
      assert.equal(code, 0, second.output());
    } finally {
      if (second.child.exitCode === null && second.child.signalCode === null) second.child.kill('SIGKILL');
    }
  });
});
