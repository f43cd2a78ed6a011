/**
 * `npm run bench -- --scenario track [--quick]`: one node holding 10,000 SSE watchers (ten per order)
 * while 1,000 couriers send a position every second over their WebSockets, and every order moves three
 * times during the run. Reports and holds: position-to-watcher latency p99 < 250 ms (from the courier's
 * own timestamp to the watcher's parse, one machine's clock), API RSS < 400 MB, event-loop delay p99
 * < 50 ms (the worst 5-s window), and not one status event lost or repeated. Also the memory an idle
 * watcher costs: the API's RSS before and after the watchers connect, divided by their number.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as hdr from 'hdr-histogram-js';
import pg from 'pg';
import { rssMb } from './processes.ts';
import { database, startApi, startPartners } from './stage.ts';
import { Courier, Watcher } from './track-clients.ts';
import { trackFixtures } from './track-fixtures.ts';

const TARGETS = { latencyP99Ms: 250, rssMb: 400, loopP99Ms: 50 };
const MOVES = ['preparing', 'ready', 'picked_up'] as const;
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

async function loopP99Ms(base: string) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('dabba_event_loop_delay_p99_seconds '));
  return line ? Number(line.split(' ')[1]) * 1000 : Number.NaN;
}

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
    for (const o of orders) for (let i = 0; i < watchersPerOrder; i++) watchers.push(new Watcher(base, o.id, o.customerToken, onPosition));
    await inBatches(watchers, 250, (w) => w.connect());
    await sleep(3_000);
    const rssWatched = await rssMb(pid);
    const perWatcherKb = ((rssWatched - rssBefore) * 1024) / watchers.length;
    log(`  ${watchers.length} watchers connected: RSS ${rssBefore.toFixed(0)} → ${rssWatched.toFixed(0)} MB (${perWatcherKb.toFixed(1)} KB each)`);

    for (const [i, o] of orders.entries()) riders.push(new Courier(base, o.courierToken, o.start, (i * 137) % 360));
    await Promise.all(riders.map((c) => c.opened()));
    for (const c of riders) c.ride(Math.random() * 1_000);
    await sleep(3_000);
    measuring = true;

    const samples: { t: number; rss_mb: number; loop_p99_ms: number }[] = [];
    await loopP99Ms(base);
    const started = Date.now();
    let moved = 0;
    while (Date.now() - started < seconds * 1_000) {
      await sleep(5_000);
      const t = Math.round((Date.now() - started) / 1_000);
      const sample = { t, rss_mb: await rssMb(pid), loop_p99_ms: await loopP99Ms(base) };
      samples.push(sample);
      log(`  ${t} s  rss ${sample.rss_mb.toFixed(0)} MB  loop p99 ${sample.loop_p99_ms.toFixed(1)} ms  positions p99 ${latency.getValueAtPercentile(99)} ms`);
      // Every order moves three times, spread over the run: each move is a status event for its ten watchers.
      if (moved < MOVES.length && t >= ((moved + 1) * seconds) / (MOVES.length + 1)) {
        const to = MOVES[moved++]!;
        const path = { preparing: 'preparing', ready: 'ready', picked_up: 'picked-up' }[to];
        await inBatches(orders, 50, (o) => call(base, adminToken, 'POST', `/v1/orders/${o.id}/${path}`, {}));
        log(`  every order moved to ${to}`);
      }
    }
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
    const courierErrors = riders.reduce((n, c) => n + c.errors, 0);
    const result = {
      at: new Date().toISOString(),
      quick,
      settings: { couriers, watchers: watchers.length, seconds, moves: moved },
      positions: {
        sent: riders.reduce((n, c) => n + c.sent, 0),
        delivered: latency.totalCount,
        p50_ms: latency.getValueAtPercentile(50),
        p99_ms: latency.getValueAtPercentile(99),
        max_ms: latency.maxValue,
      },
      status_events: { received, lost, repeated, reconnects },
      memory: { rss_before_watchers_mb: rssBefore, rss_with_watchers_mb: rssWatched, per_idle_watcher_kb: perWatcherKb, rss_max_mb: Math.max(...samples.map((s) => s.rss_mb)) },
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
    log(`\npositions sent ${result.positions.sent}, delivered to watchers ${result.positions.delivered}; idle watcher ${perWatcherKb.toFixed(1)} KB; reconnects ${reconnects}; courier errors ${courierErrors}`);
    return checks.every((c) => c.ok);
  } finally {
    for (const w of watchers) w.close();
    for (const c of riders) c.close();
    await api?.api.stop();
    await partners.sim.stop();
    await db.close();
  }
}
