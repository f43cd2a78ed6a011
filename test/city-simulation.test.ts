/**
 * The demo city against a real API on a loopback port (dispatch on, the real partner simulators):
 * `dabba demo --url` in a process of its own, as a load tool runs it, at a high time scale. Its
 * customers' orders must reach `delivered` through the API alone, its couriers' positions must change,
 * its report must agree with the database, and the process must end by itself once the city has
 * closed (it says which handles it left open, and exits 1, if it cannot).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { simulatedCatalog } from '../src/db/seed/demo-catalog.ts';
import { seedDemoCity } from '../src/db/seed/demo-city.ts';
import { distanceKm } from '../src/domain/geo.ts';
import { startCitySimulation } from '../sim/city/city-simulation.ts';
import { speedLimitForScaleKmh } from '../sim/city/geometry.ts';
import type { CityReport } from '../sim/city/report.ts';
import { setup } from './helper.ts';
import { listen } from './sse.helper.ts';

const CLI = path.resolve('src/cli.ts');
const ORDERS = 4;
const COURIERS = 20;
/** A city minute in a fifth of a second: a 15-minute dish is ready in 3 s, a 3 km ride takes 2 s. */
const TIME_SCALE = 300;
/** As `dabba demo` sets it for its own API: its fastest courier, seen at this scale, stays under it. */
const MAX_SPEED_KMH = String(speedLimitForScaleKmh(TIME_SCALE));

const ctx = await setup({
  env: {
    LOG_LEVEL: 'warn',
    DISPATCH_INTERVAL_MS: '300',
    DISPATCH_LEASE_CHECK_MS: '300',
    // One or two zones for the whole city, so a handful of couriers can reach every restaurant.
    DISPATCH_ZONE_RESOLUTION: '5',
    COURIER_MAX_SPEED_KMH: MAX_SPEED_KMH,
  },
});
assert.equal(await seedDemoCity(ctx.db), true);
// As `dabba up` does: the catalog simulator lists the seeded menus, so the feed shows dishes checkout accepts.
await simulatedCatalog(`${ctx.sim.server.url}/catalog`).load(ctx.app.services.menuSync, ctx.app.log);
const base = await listen(ctx.app);

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** `dabba demo` with `args`; its exit code and output, or a failure if it has not ended within `timeoutMs`. */
async function demo(args: string[], timeoutMs: number) {
  const child = spawn(process.execPath, [CLI, 'demo', ...args], {
    env: { ...process.env, COURIER_MAX_SPEED_KMH: MAX_SPEED_KMH, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  assert.equal(signal, null, `dabba demo did not end within ${timeoutMs} ms:\n${stdout}\n${stderr}`);
  return { code, stdout, stderr };
}

async function courierPositions() {
  const { rows } = await ctx.sql.query<{ user_id: string; lat: number; lng: number }>('SELECT user_id, lat, lng FROM couriers');
  return new Map(rows.map((r) => [r.user_id, { lat: r.lat, lng: r.lng }]));
}

describe('the city simulation (dabba demo --url)', () => {
  it('takes its orders to delivered through the API, moves its couriers, reports what the database holds, and exits by itself', async () => {
    const before = await courierPositions();
    const run = await demo(
      ['--url', base, '--orders', String(ORDERS), '--rate', '60', '--time-scale', String(TIME_SCALE), '--couriers', String(COURIERS), '--customers', '4', '--json'],
      50_000,
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.doesNotMatch(run.stderr, /handles open/);
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as CityReport;

    assert.equal(report.orders.placed, ORDERS);
    assert.equal(report.orders.in_flight, 0, 'every order ended before the city stopped');
    assert.ok(report.orders.delivered >= 1, JSON.stringify(report.orders));
    assert.deepEqual(report.errors, { total: 0, rate: 0, by_kind: {} });
    assert.equal(report.couriers.on_shift, COURIERS);
    assert.equal(report.couriers.positions_refused, 0, 'no fix was a glitch: couriers kept under the speed limit');
    assert.ok(report.time_to_delivery.median_s! > 0);

    // The database holds exactly the orders the report counts, each ended as the report says.
    const { rows: orders } = await ctx.sql.query<{ id: string; status: string; customer_id: string }>('SELECT id, status, customer_id FROM orders');
    assert.equal(orders.length, report.orders.placed);
    const count = (status: string) => orders.filter((o) => o.status === status).length;
    assert.deepEqual(
      { delivered: count('delivered'), rejected: count('rejected'), payment_failed: count('payment_failed'), cancelled: count('cancelled') },
      { delivered: report.orders.delivered, rejected: report.orders.rejected, payment_failed: report.orders.payment_failed, cancelled: report.orders.cancelled },
    );
    // Delivered through the API: each customer reads their order as delivered, its courier's two moves in its history.
    for (const order of orders.filter((o) => o.status === 'delivered')) {
      const token = ctx.app.services.tokens.issue({ id: order.customer_id, role: 'customer' });
      const res = await ctx.app.inject({ url: `/v1/orders/${order.id}`, headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'delivered');
      const { rows: moves } = await ctx.sql.query<{ to_status: string; actor_role: string }>(
        `SELECT to_status, actor_role FROM order_events WHERE order_id = $1 AND to_status IN ('picked_up', 'delivered') AND kind = 'status' ORDER BY id`,
        [order.id],
      );
      assert.deepEqual(moves, [{ to_status: 'picked_up', actor_role: 'courier' }, { to_status: 'delivered', actor_role: 'courier' }]);
    }

    // Every courier on shift rode somewhere (its fixes are what the API wrote), and went off shift at the end.
    const afterwards = await courierPositions();
    const moved = [...afterwards].filter(([id, p]) => distanceKm(before.get(id)!, p) > 0.05);
    assert.equal(moved.length, COURIERS, `${moved.length} of ${COURIERS} couriers moved`);
    const { rows: onShift } = await ctx.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM couriers WHERE on_shift');
    assert.equal(onShift[0]!.n, 0, 'every courier went off shift when the city closed');
  });

  it('refuses an API that is not on this machine, before opening anything', () => {
    for (const baseUrl of ['http://192.0.2.1:3000', 'https://127.0.0.1:3000', 'http://localhost.example.com', 'not a url']) {
      assert.throws(() => startCitySimulation({ baseUrl, ordersPerMinute: 1 }), /drives a loopback API only/, baseUrl);
    }
  });
});
