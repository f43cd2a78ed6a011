/**
 * Shared by the partner-fault tests: placing bursts of orders, waiting for compensation to finish,
 * and checking that the payment ledger, the POS and the database tell the same story.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type Actor, type LedgerEntry, type TestContext, type TestRestaurant, createRestaurant, createUser, orderBody } from './helper.ts';

/**
 * Load shedding off: these tests are about partners, and a 503 for a busy event loop (a burst of
 * 200 orders, or a cold start) would be a refused order, not a partner failure.
 */
export const NO_SHEDDING = { SHED_MAX_LOOP_DELAY_MS: '0' };

export const FAILED_STATUSES = new Set(['payment_failed', 'rejected']);
// not_sent: the call provably never left dabba, so the partner holds nothing to give back.
const FINAL_PAYMENT = new Set(['voided', 'declined', 'not_sent']);
const FINAL_POS = new Set(['cancelled', 'rejected', 'not_sent']);

export interface OrderRow {
  id: string;
  status: string;
  status_reason: string | null;
  payment_state: string;
  authorization_id: string | null;
  pos_state: string;
  pos_order_id: string | null;
  eta_minutes: number | null;
}

export interface Placed {
  status: string;
  status_reason: string | null;
  payment_state: string;
  eta_minutes: number | null;
  id: string;
  elapsedMs: number;
}

interface PosRecord {
  pos_order_id: string | null;
  order_id: string;
  status: 'accepted' | 'rejected' | 'cancelled';
  replays: number;
}

/** Customers and POS-integrated restaurants of one test, so no two tests share rows. */
export async function posWorld(ctx: TestContext, opts: { customers?: number; restaurants?: number } = {}) {
  const customers: Actor[] = [];
  for (let i = 0; i < (opts.customers ?? 2); i++) customers.push(await createUser(ctx, 'customer'));
  const owner = await createUser(ctx, 'restaurant');
  const restaurants: TestRestaurant[] = [];
  for (let i = 0; i < (opts.restaurants ?? 2); i++) restaurants.push(await createRestaurant(ctx, owner, { pos: true }));
  return { customers, restaurants };
}

/** POSTs one order with its own Idempotency-Key and times the answer; the answer must be 201. */
export async function place(ctx: TestContext, customer: Actor, restaurant: TestRestaurant): Promise<Placed> {
  const started = performance.now();
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...customer.auth, 'idempotency-key': randomUUID() },
    payload: orderBody(restaurant),
  });
  const elapsedMs = performance.now() - started;
  assert.equal(res.statusCode, 201, res.body);
  return { ...(res.json() as Omit<Placed, 'elapsedMs'>), elapsedMs };
}

/** `n` orders at once, spread round-robin over the customers and restaurants. */
export function placeMany(ctx: TestContext, world: { customers: Actor[]; restaurants: TestRestaurant[] }, n: number) {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      place(ctx, world.customers[i % world.customers.length]!, world.restaurants[i % world.restaurants.length]!),
    ),
  );
}

export async function orderRows(ctx: TestContext, ids: string[]): Promise<OrderRow[]> {
  const { rows } = await ctx.sql.query<OrderRow>(
    `SELECT id, status, status_reason, payment_state, authorization_id, pos_state, pos_order_id, eta_minutes
     FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id`,
    [ids],
  );
  assert.equal(rows.length, ids.length, 'an order went missing from the database');
  return rows;
}

const unsettled = (r: OrderRow) =>
  r.status === 'placed' || (FAILED_STATUSES.has(r.status) && (!FINAL_PAYMENT.has(r.payment_state) || !FINAL_POS.has(r.pos_state)));

/**
 * Waits until no order is still `placed` and every failed one has been compensated (payment voided or
 * declined, POS ticket cancelled or never accepted). Names the stragglers if that never happens.
 */
export async function waitUntilSettled(ctx: TestContext, ids: string[], timeoutMs = 30_000): Promise<OrderRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await orderRows(ctx, ids);
    const left = rows.filter(unsettled);
    if (left.length === 0) return rows;
    if (Date.now() > deadline) {
      const sample = left.slice(0, 5).map((r) => `${r.id} ${r.status} payment=${r.payment_state} pos=${r.pos_state} (${r.status_reason})`);
      throw new Error(`timed out waiting for ${left.length} order(s) to be decided and compensated:\n${sample.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The payment ledger, the POS and the database must agree, order by order:
 * - a confirmed order holds exactly one fresh (non-replay) authorisation, the one the database names,
 *   never voided or captured, and exactly one accepted POS ticket, the one the database names;
 * - a failed order holds at most one authorisation, and if it has one it is voided (payment_state
 *   'voided'), otherwise payment_state is 'declined' (or 'not_sent': the call never left); its POS ticket, if one was accepted, is cancelled;
 * - retries reuse one idempotency key per operation, and nothing is ever captured.
 */
export async function assertPartnersAgree(ctx: TestContext, rows: OrderRow[]) {
  const ledger = await ctx.sim.ledger();
  const { orders: pos } = (await ctx.sim.control('GET', '/pos/orders')) as { orders: PosRecord[] };
  assert.deepEqual(
    ledger.filter((e) => e.kind === 'capture' || e.kind === 'refund'),
    [],
    'nothing may be captured or refunded: no order was delivered',
  );
  const byOrder = new Map<string, LedgerEntry[]>();
  for (const e of ledger) {
    if (!e.order_id) continue;
    const list = byOrder.get(e.order_id);
    if (list) list.push(e);
    else byOrder.set(e.order_id, [e]);
  }

  for (const row of rows) {
    const at = `order ${row.id} (${row.status}, ${row.status_reason}, payment=${row.payment_state} ${row.authorization_id}, pos=${row.pos_state})`;
    const entries = byOrder.get(row.id) ?? [];
    const authorizes = entries.filter((e) => e.kind === 'authorize');
    const fresh = authorizes.filter((e) => !e.replay);
    assert.ok(fresh.length <= 1, `${at}: ${fresh.length} non-replay authorizations, a double charge`);
    assert.ok(new Set(authorizes.map((e) => e.idempotency_key)).size <= 1, `${at}: authorize retried under different keys`);
    const authIds = [...new Set(authorizes.map((e) => e.authorization_id).filter((id): id is string => id !== null))];
    assert.ok(authIds.length <= 1, `${at}: two different authorization ids ${authIds.join(', ')}`);
    const tickets = pos.filter((p) => p.order_id === row.id);
    assert.ok(tickets.length <= 1, `${at}: ${tickets.length} POS tickets for one order`);

    if (row.status === 'confirmed') {
      assert.equal(row.payment_state, 'authorized', at);
      assert.equal(fresh.length, 1, `${at}: confirmed without exactly one authorization`);
      assert.equal(fresh[0]!.outcome, 'authorized', at);
      assert.equal(fresh[0]!.authorization_id, row.authorization_id, `${at}: the database names another authorization`);
      assert.deepEqual(
        entries.filter((e) => e.kind !== 'authorize').map((e) => `${e.kind}:${e.outcome}`),
        [],
        `${at}: a confirmed order's authorization was touched`,
      );
      assert.equal(tickets[0]?.status, 'accepted', `${at}: no accepted POS ticket`);
      assert.equal(tickets[0]?.pos_order_id, row.pos_order_id, `${at}: the database names another POS ticket`);
      assert.equal(row.pos_state, 'accepted', at);
      continue;
    }

    assert.ok(FAILED_STATUSES.has(row.status), `${at}: expected confirmed or failed`);
    const voids = entries.filter((e) => e.kind === 'void');
    assert.ok(voids.filter((e) => !e.replay).length <= 1, `${at}: voided twice`);
    for (const id of authIds) {
      assert.ok(
        voids.some((v) => v.authorization_id === id && v.outcome === 'voided'),
        `${at}: authorization ${id} was never voided (ledger: ${entries.map((e) => `${e.kind}:${e.outcome}`).join(', ')})`,
      );
    }
    if (authIds.length === 1) {
      assert.equal(row.payment_state, 'voided', at);
      assert.equal(row.authorization_id, authIds[0], `${at}: the database names another authorization`);
    } else {
      assert.ok(['declined', 'not_sent'].includes(row.payment_state), `${at}: no authorization exists, so the payment ends declined or never sent`);
    }
    assert.ok(!tickets.some((t) => t.status === 'accepted'), `${at}: its POS ticket is still live`);
    if (tickets[0]?.status === 'cancelled') {
      assert.equal(row.pos_state, 'cancelled', at);
      assert.equal(row.pos_order_id, tickets[0].pos_order_id, at);
    }
  }
}

/** Sums the samples of a Prometheus metric whose labels include all of `labels`. */
export async function metricValue(ctx: TestContext, name: string, labels: Record<string, string> = {}) {
  // A histogram's _count/_sum/_bucket series are read from the histogram itself.
  const base = ctx.app.metrics.registry.getSingleMetric(name) ? name : name.replace(/_(count|sum|bucket)$/, '');
  const text = ctx.app.metrics.registry.getSingleMetric(base) ? await ctx.app.metrics.registry.getSingleMetricAsString(base) : '';
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
