/**
 * `npm run bench -- --scenario export [--quick]`: one restaurant with 1,000,000 orders (100,000 with
 * --quick), written by SQL, exported as CSV by `dabba serve`: once read at full speed, once by a reader
 * held to a third of that rate, so the export spends most of its life waiting on backpressure. Reports and holds: the API's RSS growth during the exports < 50 MB, every
 * row delivered to both readers, and a client that hangs up mid-stream freeing the export's database
 * connection within a second (five hang-ups). Also reports rows/s, MB/s and the time to the first byte.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import pg from 'pg';
import { TokenService } from '../src/services/token.service.ts';
import { type DownloadResult, download, hangUpMidway } from './export-clients.ts';
import { cpuMs, rssMb, withPeakRss } from './processes.ts';
import { CENTER, JWT_SECRET, database, startApi, startPartners } from './stage.ts';

const TARGETS = { rssGrowthMb: 50, releaseMs: 1_000 };
const HANG_UPS = 5;
const log = (line: string) => process.stdout.write(`${line}\n`);
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * An owner, a restaurant and `count` delivered orders of one line each, spread over the last 20 days
 * (inside the export's default window), in two statements. Returns what a download needs.
 */
async function seed(dbUrl: string, count: number): Promise<{ restaurantId: string; token: string }> {
  const sql = new pg.Client({ connectionString: dbUrl });
  await sql.connect();
  try {
    const owner = await sql.query<{ id: string }>(
      `INSERT INTO users (email, name, role, password_hash) VALUES ('export-owner@dabba.test', 'Export Owner', 'restaurant', 'x'),
         ('export-customer@dabba.test', 'Export Customer', 'customer', 'x') RETURNING id`,
    );
    const [ownerId, customerId] = owner.rows.map((r) => r.id);
    const { rows } = await sql.query<{ id: string; item: string }>(
      `WITH r AS (
         INSERT INTO restaurants (owner_id, name, cuisine, address, lat, lng, delivery_radius_km, prep_minutes)
         VALUES ($1, 'Export Kitchen', 'North Indian', '1 Ledger Lane, Mumbai', $2, $3, 8, 20) RETURNING id)
       INSERT INTO menu_items (restaurant_id, name, category, price_cents) SELECT id, 'Paneer Tikka', 'Mains', 24900 FROM r
       RETURNING restaurant_id AS id, id AS item`,
      [ownerId, CENTER.lat, CENTER.lng],
    );
    const { id: restaurantId, item } = rows[0]!;
    await sql.query(
      `WITH o AS (
         INSERT INTO orders (customer_id, restaurant_id, status, currency, subtotal_cents, delivery_fee_cents, total_cents,
           delivery_lat, delivery_lng, delivery_address, distance_km, idempotency_key, request_hash, payment_state, created_at)
         SELECT $1, $2, 'delivered', 'INR', 24900 * (1 + g % 3), 2000 + g % 2500, 24900 * (1 + g % 3) + 2000 + g % 2500, 19.08, 72.88,
                'Flat ' || g % 500 || ', Building ' || g % 97 || ', Marine Drive, Mumbai 400020', 2.5, 'export-' || g, 'bench', 'captured',
                now() - interval '20 days' + g * (interval '20 days' / $3::int)
           FROM generate_series(1, $3::int) g
         RETURNING id, subtotal_cents)
       INSERT INTO order_items (order_id, line, menu_item_id, name, unit_price_cents, quantity, line_total_cents)
       SELECT id, 1, $4, 'Paneer Tikka', 24900, subtotal_cents / 24900, subtotal_cents FROM o`,
      [customerId, restaurantId, count, item],
    );
    await sql.query('ANALYZE orders, order_items');
    return { restaurantId, token: new TokenService(JWT_SECRET, 24 * 3600).issue({ id: ownerId!, role: 'restaurant' }) };
  } finally {
    await sql.end();
  }
}

/** The export's connections at work (not idle in their pool). */
async function exportBusy(sql: pg.Client) {
  const { rows } = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dabba-export' AND state <> 'idle'`,
  );
  return rows[0]!.n > 0;
}

const summary = (r: DownloadResult) => ({
  rows: r.rows,
  mb: round(r.bytes / 2 ** 20),
  seconds: round(r.totalMs / 1000, 2),
  rows_per_s: Math.round(r.rows / (r.totalMs / 1000)),
  mb_per_s: round(r.bytes / 2 ** 20 / (r.totalMs / 1000)),
  first_byte_ms: Math.round(r.firstByteMs),
  complete: r.complete,
});

export async function exportBench(quick: boolean): Promise<boolean> {
  const rows = quick ? 100_000 : 1_000_000;
  const db = await database();
  const partners = await startPartners();
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  const sql = new pg.Client({ connectionString: db.url });
  try {
    api = await startApi(db.url, partners.env);
    const pid = api.api.pid;
    await sql.connect();
    const seedStarted = performance.now();
    const { restaurantId, token } = await seed(db.url, rows);
    log(`export: ${rows.toLocaleString('en')} orders seeded in ${round((performance.now() - seedStarted) / 1000)} s`);
    const url = `${api.url}/v1/restaurants/${restaurantId}/orders/export`;

    // A small export first, so the measured ones do not count code loaded or compiled on first use.
    await download(`${url}?from=${new Date(Date.now() - 20 * 86_400_000).toISOString()}&to=${new Date(Date.now() - 19 * 86_400_000).toISOString()}`, token);
    const rssBefore = await rssMb(pid);
    const cpuBefore = await cpuMs(pid);
    const fast = await withPeakRss(pid, () => download(url, token));
    const apiCpuMsPer1000 = ((await cpuMs(pid)) - cpuBefore) / (rows / 1000);
    log(`  full speed: ${JSON.stringify(summary(fast.value))}, API RSS peak ${round(fast.peakMb)} MB, API CPU ${round(apiCpuMsPer1000, 2)} ms per 1,000 rows`);
    const pace = fast.value.bytes / (fast.value.totalMs / 1000) / 3;
    const slow = await withPeakRss(pid, () => download(url, token, pace));
    log(`  slow reader (${round(pace / 2 ** 20, 2)} MB/s): ${JSON.stringify(summary(slow.value))}, API RSS peak ${round(slow.peakMb)} MB`);
    const releases: number[] = [];
    for (let i = 0; i < HANG_UPS; i++) releases.push(await hangUpMidway(url, token, 256 * 1024, () => exportBusy(sql)));
    log(`  hang-ups: connection released after ${releases.map((ms) => `${round(ms)} ms`).join(', ')}`);
    const rssAfter = await rssMb(pid);

    const growth = Math.max(fast.peakMb, slow.peakMb) - rssBefore;
    const result = {
      at: new Date().toISOString(),
      quick,
      rows,
      full_speed: { ...summary(fast.value), rss_peak_mb: round(fast.peakMb), api_cpu_ms_per_1000_rows: round(apiCpuMsPer1000, 2) },
      slow_reader: { ...summary(slow.value), pace_mb_per_s: round(pace / 2 ** 20, 2), rss_peak_mb: round(slow.peakMb) },
      rss: { before_mb: round(rssBefore), after_mb: round(rssAfter), growth_mb: round(growth) },
      hang_up_release_ms: releases.map((ms) => round(ms)),
    };
    const whole = (r: DownloadResult) => r.status === 200 && r.complete && r.rows === rows;
    const checks = [
      { what: 'API RSS growth during the exports', value: `${round(growth)} MB`, target: `< ${TARGETS.rssGrowthMb} MB`, ok: growth < TARGETS.rssGrowthMb },
      { what: 'rows delivered (full speed / slow)', value: `${fast.value.rows} / ${slow.value.rows}`, target: `${rows} / ${rows}`, ok: whole(fast.value) && whole(slow.value) },
      { what: 'connection released after a hang-up (max)', value: `${round(Math.max(...releases))} ms`, target: `< ${TARGETS.releaseMs} ms`, ok: Math.max(...releases) < TARGETS.releaseMs },
    ];
    await mkdir('bench/results', { recursive: true });
    await writeFile(`bench/results/export${quick ? '-quick' : ''}.json`, `${JSON.stringify({ ...result, checks }, null, 2)}\n`);
    log('');
    log('| check | value | target | |');
    log('|---|---|---|---|');
    for (const c of checks) log(`| ${c.what} | ${c.value} | ${c.target} | ${c.ok ? 'met' : 'MISSED'} |`);
    log(`\nfull speed ${result.full_speed.rows_per_s.toLocaleString('en')} rows/s (${result.full_speed.mb_per_s} MB/s, first byte ${result.full_speed.first_byte_ms} ms)`);
    return checks.every((c) => c.ok);
  } finally {
    await sql.end().catch(() => {});
    await api?.api.stop();
    await partners.sim.stop();
    await db.close();
  }
}
