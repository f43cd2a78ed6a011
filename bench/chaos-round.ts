/**
 * One round of the campaign: a burst of orders and their later moves, one fault at a seeded moment,
 * recovery (the fault cleared, the round left to settle, bounded), then the invariants.
 */
import type pg from 'pg';
import { type Plan, RoundClient, type Seen, type Told } from './chaos-client.ts';
import type { ApiProcess, ChaosDatabase, ChaosSim, World } from './chaos-env.ts';
import { type FaultLog, type Rng, type RoundSpec, describe, inject } from './chaos-faults.ts';
import { type Check, checkInvariants, gatherFacts, settle } from './chaos-invariants.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Orders are fired over this window, so a fault can land before, among or after their checkouts. */
const SPREAD_MS = 1_500;
/** How long a customer keeps retrying one checkout, and how long staff keep at an order's moves. */
const PLACE_FOR_MS = 45_000;
const DRIVE_FOR_MS = 90_000;
/** How long the API has to serve again once a fault is cleared. */
const SERVE_AGAIN_MS = 30_000;

export interface RoundContext {
  api: ApiProcess;
  sim: ChaosSim;
  db: ChaosDatabase;
  sql: pg.Pool;
  world: World;
  rng: Rng;
  settleMs: number;
  /** Hidden, for proving the checks can fail: skip settling, or corrupt rows before checking. */
  noSettle: boolean;
  injectViolation: boolean;
}

export interface RoundResult {
  round: number;
  fault: string;
  whenMs: number;
  faultLog: FaultLog;
  orders: number;
  confirmed: number;
  failed: number;
  delivered: number;
  checks: Check[];
  settle: { settled: boolean; ms: number; left: string };
  seen: Seen;
  gaveUp: number;
  durationMs: number;
  /** The end of a process's output when it died on its own: the evidence behind an API ✖. */
  apiDeaths: { at: string; code: number | null; signal: string | null; fatal?: string; tail: string }[];
}

interface Intent {
  told: Told;
  restaurant: World['restaurants'][number];
  lines: { menu_item_id: string; quantity: number }[];
  fireAtMs: number;
  moveAfterMs: number;
}

/** Every random choice of a round, drawn up front in a fixed order, so a seed replays the same round. */
function intents(ctx: RoundContext, spec: RoundSpec): Intent[] {
  const { rng: r, world } = ctx;
  return Array.from({ length: spec.orders }, (_, i) => {
    const restaurant = r.pick(world.restaurants);
    // About one order in twelve is over the gateway's amount limit: a decline, the failure no fault causes.
    const big = r.next() < 0.08;
    const lines = big
      ? [{ menu_item_id: restaurant.items[2]!.id, quantity: 45 }]
      : Array.from({ length: r.int(1, 2) }, (_, l) => ({ menu_item_id: restaurant.items[(i + l) % 3]!.id, quantity: r.int(1, 3) }));
    const plans: Plan[] = restaurant.pos
      ? ['deliver', 'deliver', 'hold', 'cancel', 'kitchen-cancel']
      : ['deliver', 'deliver', 'hold', 'cancel', 'reject', 'kitchen-cancel'];
    const plan = r.pick(plans);
    const told: Told = { key: `chaos-r${spec.round}-${i}-${Math.floor(r.next() * 1e9)}`, ids: new Set(), pos: restaurant.pos, plan, attempts: 0, gaveUp: false };
    return { told, restaurant, lines, fireAtMs: Math.round((i * SPREAD_MS) / spec.orders), moveAfterMs: r.int(0, 1_500) };
  });
}

/** The API after a fault: a death nobody caused is recorded and the same command started again, so the campaign goes on. */
async function recoverApi(api: ApiProcess, notes: string[]): Promise<string | undefined> {
  if (!api.alive()) {
    notes.push('the API process died on its own; started again');
    await api.start();
  }
  const t0 = Date.now();
  if (await api.waitReady(SERVE_AGAIN_MS)) return undefined;
  notes.push(`not ready ${SERVE_AGAIN_MS} ms after the fault cleared; killed and started again`);
  await api.kill9();
  await api.start();
  return `the API did not serve again within ${Date.now() - t0} ms of the fault clearing`;
}

export async function runRound(ctx: RoundContext, spec: RoundSpec): Promise<RoundResult> {
  const roundStart = Date.now();
  const { api, sim, sql, world } = ctx;
  await sim.normal();
  // Some rounds a POS kitchen is closed: its orders are rejected by the POS, a failure path of its own.
  const closed = ctx.rng.next() < 0.3 ? world.restaurants.find((r) => r.pos) : undefined;
  if (closed) await sim.control('PUT', `/pos/restaurants/${closed.id}`, { closed: true });
  const customer = await world.newCustomer(spec.round);
  const client = new RoundClient(api.base, world, customer);
  const plan = intents(ctx, spec);
  const deathsBefore = api.deaths.length;
  const notes: string[] = [];

  const start = Date.now();
  const faultDone = inject(spec.fault, start, spec.whenMs, ctx).catch((err: unknown): FaultLog => {
    notes.push(`injecting the fault failed: ${(err as Error).message}`);
    return { injectedAtMs: -1, lastedMs: 0, notes: [] };
  });
  const driving: Promise<boolean>[] = [];
  const orders = plan.map(async (o) => {
    await sleep(Math.max(0, start + o.fireAtMs - Date.now()));
    await client.place(o.told, o.restaurant, o.lines, start + PLACE_FOR_MS);
    const [id] = o.told.ids;
    if (!id) return;
    await sleep(o.moveAfterMs);
    driving.push(client.drive(id, o.restaurant.pos, o.told.plan, start + DRIVE_FOR_MS));
  });

  const faultLog = await faultDone;
  faultLog.notes.push(...notes);
  const notServing = await recoverApi(api, faultLog.notes);
  await Promise.all(orders);
  await Promise.all(driving);

  // Orders no client heard of (every retry cut off) still need their staff: accept what waits on them.
  const known = new Set(plan.flatMap((o) => [...o.told.ids]));
  const { rows: unheard } = await sql.query<{ id: string; pos_integrated: boolean }>(
    `SELECT o.id, r.pos_integrated FROM orders o JOIN restaurants r ON r.id = o.restaurant_id WHERE o.customer_id = $1`,
    [customer.id],
  );
  await Promise.all(unheard.filter((o) => !known.has(o.id)).map((o) => client.drive(o.id, o.pos_integrated, 'hold', Date.now() + 30_000)));

  const gaveUp = plan.filter((o) => o.told.gaveUp).length;
  if (gaveUp > 0) faultLog.notes.push(`${gaveUp} checkouts never answered within ${PLACE_FOR_MS / 1000} s of retries`);
  const settled = ctx.noSettle ? { settled: false, ms: 0, left: 'not waited for (--no-settle)' } : await settle(sql, customer.id, ctx.settleMs);
  if (ctx.injectViolation) await corrupt(sql, customer.id, faultLog.notes);
  if (closed) await sim.control('PUT', `/pos/restaurants/${closed.id}`, { closed: false });

  const facts = await gatherFacts(sql, sim, customer);
  const deaths = api.deaths
    .slice(deathsBefore)
    .map((d) => `exited on its own (code ${d.code}, signal ${d.signal}) at ${new Date(d.at).toISOString()}: ${whyDied(d.fatal ?? d.tail)}`);
  const checks = checkInvariants(
    facts,
    plan.map((o) => o.told),
    { deaths, notServing },
  );
  const everConfirmed = new Set(facts.events.filter((e) => e.to_status === 'confirmed').map((e) => e.order_id));
  return {
    round: spec.round,
    fault: describe(spec.fault),
    whenMs: faultLog.injectedAtMs,
    faultLog,
    orders: facts.orders.length,
    confirmed: everConfirmed.size,
    failed: facts.orders.filter((o) => ['payment_failed', 'rejected', 'cancelled'].includes(o.status)).length,
    delivered: facts.orders.filter((o) => o.status === 'delivered').length,
    checks,
    settle: settled,
    seen: client.seen,
    gaveUp,
    durationMs: Date.now() - roundStart,
    apiDeaths: api.deaths.slice(deathsBefore).map((d) => ({ ...d, at: new Date(d.at).toISOString() })),
  };
}

/**
 * Why a process died, from its pino output: the line close-with-grace logs before exiting (the error
 * that nobody handled), shortened to its type, code, message and first frames; else its last error lines.
 */
function whyDied(tail: string): string {
  const lines = tail.split('\n');
  const fatal = lines.findLast((l) => l.includes('"msg":"closing after an error"'));
  if (fatal) {
    try {
      const { err } = JSON.parse(fatal) as { err?: { type?: string; code?: string; message?: string; stack?: string } };
      const frames = (err?.stack ?? '').split('\n').slice(1, 4).map((f) => f.trim().replace(/^at /, '').replace(/\/[^ ]*node_modules\//, ''));
      return `unhandled ${err?.type ?? 'error'} ${err?.code ?? ''} "${err?.message}" from ${frames.join(' ← ')}`;
    } catch {
      return fatal.slice(0, 900);
    }
  }
  return lines.filter((l) => /"level":(50|60)/.test(l)).slice(-3).map((l) => l.slice(0, 600)).join(' | ') || tail.slice(-900);
}

/**
 * `--inject-violation`: breaks what dabba guarantees, behind its back, after the round settled, so
 * the report can show each check catching it: a failed order's payment marked held again (stuck), a
 * delivered order's capture job deleted (follow-up lost), and an order the client was told of
 * deleted (order lost).
 */
async function corrupt(sql: pg.Pool, customerId: string, notes: string[]) {
  const one = async (q: string) => (await sql.query<{ id: string }>(q, [customerId])).rows[0]?.id;
  const failed = await one(`SELECT id FROM orders WHERE customer_id = $1 AND status IN ('payment_failed', 'rejected', 'cancelled') LIMIT 1`);
  if (failed) await sql.query(`UPDATE orders SET payment_state = 'unknown' WHERE id = $1`, [failed]);
  const delivered = await one(`SELECT id FROM orders WHERE customer_id = $1 AND status = 'delivered' LIMIT 1`);
  if (delivered) await sql.query(`DELETE FROM pgboss.job WHERE name = 'capture' AND data->>'orderId' = $1`, [delivered]);
  const held = await one(`SELECT id FROM orders WHERE customer_id = $1 AND status = 'confirmed' LIMIT 1`);
  if (held) await sql.query(`WITH e AS (DELETE FROM order_events WHERE order_id = $1), i AS (DELETE FROM order_items WHERE order_id = $1) DELETE FROM orders WHERE id = $1`, [held]);
  notes.push(`--inject-violation: payment_state=unknown on ${failed ?? '-'}; capture job deleted for ${delivered ?? '-'}; order ${held ?? '-'} deleted`);
}
