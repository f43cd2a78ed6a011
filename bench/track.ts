/**
 * `npm run bench -- --scenario track [--quick]`: one node holding 10,000 SSE watchers (ten per order)
 * while 1,000 couriers send a position every second over their WebSockets, and every order moves three
 * times during the run. Reports and holds: position-to-watcher latency p99 < 250 ms (from the courier's
 * own timestamp to the watcher's parse, one machine's clock), API RSS < 400 MB, event-loop delay p99
 * < 50 ms (the worst 5-s window), and not one status event lost or repeated. Also the memory an idle
 * watcher costs: the API's RSS before and after the watchers connect, divided by their number.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import pg from 'pg';
import { rssMb } from './processes.ts';
import { scrape } from './soak-sample.ts';
import { database, startApi, startPartners } from './stage.ts';
import { Courier, Watcher } from './track-clients.ts';
import { trackFixtures } from './track-fixtures.ts';

const TARGETS = { latencyP99Ms: 250, rssMb: 400, loopP99Ms: 50 };
const MOVES = ['preparing', 'ready', 'picked_up'] as const;
const PATHS = { preparing: 'preparing', ready: 'ready', picked_up: 'picked-up' } as const;
const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `work` over `items`, `width` at a time. */
async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

async function call(base: string, token: string, method: string, path: string, body?: unknown) {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.ok) return res.json();
    // Set-up on a busy machine may meet load shedding: a real client retries after Retry-After.
    if (res.status === 503 && attempt < 10) {
      await sleep(1_000);
      continue;
    }
    throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  }
}

/** The API's own gauges: the loop's p99 since the last scrape, V8's heap. */
async function gauges(base: string) {
  const m = await scrape(base);
  const read = (name: string) => m.get(name)?.[0]?.value ?? Number.NaN;
  return {
    loopP99Ms: read('dabba_event_loop_delay_p99_seconds') * 1000,
    heapUsedMb: read('dabba_nodejs_heap_size_used_bytes') / 2 ** 20,
    heapTotalMb: read('dabba_nodejs_heap_size_total_bytes') / 2 ** 20,
  };
}
const loopP99Ms = async (base: string) => (await gauges(base)).loopP99Ms;

export async function trackBench(quick: boolean): Promise<boolean> {
  const couriers = quick ? 100 : 1_000;
  const watchersPerOrder = 10;
  const seconds = quick ? 20 : 90;
  const db = await database();
  const partners = await startPartners();
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  const watchers: Watcher[] = [];
  const riders: Courier[] = [];
  try {
    api = await startApi(db.url, partners.env);
    const base = api.url;
    const pid = api.api.pid;
    const { orders, adminToken } = await trackFixtures(db.url, couriers);
    log(`track: ${orders.length} couriers and orders, ${orders.length * watchersPerOrder} watchers, ${seconds} s`);
    await inBatches(orders, 50, (o) => call(base, o.courierToken, 'POST', '/v1/courier/shift', { online: true, ...o.start }));

    const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000, numberOfSignificantValueDigits: 3 });
    let measuring = false;
    const onPosition = (ms: number) => {
      if (measuring) latency.recordValue(Math.max(1, Math.min(ms, 120_000)));
    };
    const rssBefore = await rssMb(pid);
    const heapBefore = await gauges(base);
    for (const o of orders) for (let i = 0; i < watchersPerOrder; i++) watchers.push(new Watcher(base, o.id, o.customerToken, onPosition));
    await inBatches(watchers, 250, (w) => w.connect());
    await sleep(3_000);
    const rssWatched = await rssMb(pid);
    const heapWatched = await gauges(base);
    const perWatcherKb = ((rssWatched - rssBefore) * 1024) / watchers.length;
    const heapPerWatcherKb = ((heapWatched.heapUsedMb - heapBefore.heapUsedMb) * 1024) / watchers.length;
    log(`  ${watchers.length} watchers connected: RSS ${rssBefore.toFixed(0)} → ${rssWatched.toFixed(0)} MB (${perWatcherKb.toFixed(1)} KB each); heap used ${heapBefore.heapUsedMb.toFixed(0)} → ${heapWatched.heapUsedMb.toFixed(0)} MB (${heapPerWatcherKb.toFixed(1)} KB each), heap total ${heapWatched.heapTotalMb.toFixed(0)} MB`);

    for (const [i, o] of orders.entries()) riders.push(new Courier(base, o.courierToken, o.start, (i * 137) % 360));
    await Promise.all(riders.map((c) => c.opened()));
    for (const c of riders) c.ride(Math.random() * 1_000);
    await sleep(3_000);
    measuring = true;
    // The load generator's own lag is part of every latency it measures: reported beside it.
    const clientLoop = monitorEventLoopDelay({ resolution: 10 });
    clientLoop.enable();

    const samples: { t: number; rss_mb: number; loop_p99_ms: number }[] = [];
    await loopP99Ms(base);
    const started = Date.now();
    // Each order makes its three moves at random moments of the run's middle 80%, in order: about 40
    // moves a second for a thousand orders, ten times what a city with a thousand deliveries under way
    // makes (a 30-minute delivery moves about six times), and every one a status event for ten watchers.
    let moves = 0;
    const moving = Promise.all(
      orders.map(async (o) => {
        const at = MOVES.map(() => (0.1 + 0.8 * Math.random()) * seconds * 1_000).sort((a, b) => a - b);
        for (const [k, to] of MOVES.entries()) {
          await sleep(Math.max(0, started + at[k]! - Date.now()));
          await call(base, adminToken, 'POST', `/v1/orders/${o.id}/${PATHS[to]}`, {});
          moves++;
        }
      }),
    );
    // Seen as handled now, so a failed move ends the run through `await moving` below (and the clean-up
    // in `finally`), not as an unhandled rejection that leaves the API and the simulators running.
    moving.catch(() => {});
    while (Date.now() - started < seconds * 1_000) {
      await sleep(5_000);
      const t = Math.round((Date.now() - started) / 1_000);
      const sample = { t, rss_mb: await rssMb(pid), loop_p99_ms: await loopP99Ms(base) };
      samples.push(sample);
      log(`  ${t} s  rss ${sample.rss_mb.toFixed(0)} MB  loop p99 ${sample.loop_p99_ms.toFixed(1)} ms  positions p99 ${latency.getValueAtPercentile(99)} ms  moves ${moves}`);
    }
    await moving;
    clientLoop.disable();
    const clientLoopP99Ms = clientLoop.percentile(99) / 1e6;
    const moved = moves / orders.length;
    measuring = false;
    for (const c of riders) c.close();
    await sleep(2_000);

    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const { rows } = await sql.query<{ order_id: string; ids: string[] }>(
      'SELECT order_id, array_agg(id ORDER BY id) AS ids FROM order_events WHERE order_id = ANY($1) GROUP BY order_id',
      [orders.map((o) => o.id)],
    );
    await sql.end();
    const expected = new Map(rows.map((r) => [r.order_id, r.ids.map(Number)]));
    let lost = 0;
    let repeated = 0;
    let received = 0;
    for (const [i, w] of watchers.entries()) {
      const want = expected.get(orders[Math.floor(i / watchersPerOrder)]!.id) ?? [];
      const got = new Set(w.stats.statusIds);
      received += w.stats.statusIds.length;
      repeated += w.stats.statusIds.length - got.size;
      lost += want.filter((id) => !got.has(id)).length;
    }
    const reconnects = watchers.reduce((n, w) => n + w.stats.reconnects, 0);
    const refused = watchers.reduce((n, w) => n + w.stats.refused, 0);
    const courierErrors = riders.reduce((n, c) => n + c.errors, 0);
    const result = {
      at: new Date().toISOString(),
      quick,
      settings: { couriers, watchers: watchers.length, seconds, moves_per_order: moved },
      positions: {
        sent: riders.reduce((n, c) => n + c.sent, 0),
        delivered: latency.totalCount,
        p50_ms: latency.getValueAtPercentile(50),
        p99_ms: latency.getValueAtPercentile(99),
        max_ms: latency.maxValue,
        load_generator_loop_p99_ms: clientLoopP99Ms,
      },
      status_events: { received, lost, repeated, reconnects, connects_refused: refused },
      memory: { rss_before_watchers_mb: rssBefore, rss_with_watchers_mb: rssWatched, per_idle_watcher_kb: perWatcherKb, heap_per_idle_watcher_kb: heapPerWatcherKb, heap_before_mb: heapBefore, heap_with_watchers_mb: heapWatched, rss_max_mb: Math.max(...samples.map((s) => s.rss_mb)) },
      loop: { p99_max_ms: Math.max(...samples.map((s) => s.loop_p99_ms)), p99_median_ms: samples.map((s) => s.loop_p99_ms).sort((a, b) => a - b)[Math.floor(samples.length / 2)] },
      courier_errors: courierErrors,
      samples,
    };
    const checks = [
      { what: 'position → watcher p99', value: `${result.positions.p99_ms} ms`, target: `< ${TARGETS.latencyP99Ms} ms`, ok: result.positions.p99_ms < TARGETS.latencyP99Ms && result.positions.delivered > 0 },
      { what: 'API RSS (max)', value: `${result.memory.rss_max_mb.toFixed(0)} MB`, target: `< ${TARGETS.rssMb} MB`, ok: result.memory.rss_max_mb < TARGETS.rssMb },
      { what: 'event-loop delay p99 (worst 5 s)', value: `${result.loop.p99_max_ms.toFixed(1)} ms`, target: `< ${TARGETS.loopP99Ms} ms`, ok: result.loop.p99_max_ms < TARGETS.loopP99Ms },
      { what: 'status events lost / repeated', value: `${lost} / ${repeated} of ${received}`, target: '0 / 0', ok: lost === 0 && repeated === 0 && moved === MOVES.length },
    ];
    await mkdir('bench/results', { recursive: true });
    await writeFile(`bench/results/track${quick ? '-quick' : ''}.json`, `${JSON.stringify({ ...result, checks }, null, 2)}\n`);
    log('');
    log('| check | value | target | |');
    log('|---|---|---|---|');
    for (const c of checks) log(`| ${c.what} | ${c.value} | ${c.target} | ${c.ok ? 'met' : 'MISSED'} |`);
    log(`\nthe load generator's own event-loop delay p99: ${clientLoopP99Ms.toFixed(1)} ms (included in the latencies above)`);
    log(`positions sent ${result.positions.sent}, delivered to watchers ${result.positions.delivered}; idle watcher ${perWatcherKb.toFixed(1)} KB; reconnects ${reconnects}; connects refused (503, retried) ${refused}; courier errors ${courierErrors}`);
    return checks.every((c) => c.ok);
  } finally {
    for (const w of watchers) w.close();
    for (const c of riders) c.close();
    await api?.api.stop();
    await partners.sim.stop();
    await db.close();
  }
}
