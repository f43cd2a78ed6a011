/** Starting what a benchmark measures: the database, the simulators, the API and the baseline. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { createDatabase } from '../src/db/database.ts';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { seedDemoCity } from '../src/db/seed/demo-city.ts';
import type { PartnerLatency } from './little.ts';
import { type Started, freePort, startNode } from './processes.ts';

export const CENTER = { lat: 19.076, lng: 72.8777 };
/** The API's JWT_SECRET in every benchmark, so a scenario may mint tokens as the API would. */
export const JWT_SECRET = 'bench-secret-bench-secret-bench-secret-0123';
export type Server = 'dabba' | 'baseline';

/** A fresh `dabba_bench` database on DATABASE_URL's server, or in an embedded PostgreSQL. */
export async function database(): Promise<{ url: string; close(): Promise<void> }> {
  const name = 'dabba_bench';
  if (process.env.DATABASE_URL) {
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = `/${name}`;
    return { url: u.toString(), close: async () => {} };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'dabba-bench-pg-'));
  const embedded = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), database: name });
  return {
    url: embedded.url,
    close: async () => {
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startPartners() {
  const port = await freePort();
  const sim = await startNode(['src/cli.ts', 'partners'], { SIM_PORT: String(port) }, /listening on/);
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PAYMENTS_URL: `${base}/payments`,
    POS_URL: `${base}/pos`,
    ETA_URL: `${base}/eta`,
    NOTIFY_URL: `${base}/notify`,
    CATALOG_URL: `${base}/catalog`,
  };
  const settings = (await (await fetch(`${base}/_sim/partners`)).json()) as Record<string, PartnerLatency>;
  const latency = (settings as { partners?: Record<string, PartnerLatency> }).partners ?? settings;
  return { sim, env, latency };
}

/** The arguments `npm run serve` gives node (its V8 flags included), so the benchmark runs the API as production does. */
async function serveArgs(): Promise<string[]> {
  const { scripts } = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
  const [node, ...args] = scripts.serve!.trim().split(/\s+/);
  if (node !== 'node' || args.at(-1) !== 'serve') throw new Error(`unexpected serve script: ${scripts.serve}`);
  return args;
}

/**
 * The demo city in the database (`serve`, the production command, never seeds), and each restaurant's
 * menu in the catalog simulator, whose menu system it stands for: without them the menu sync would
 * replace the seeded dishes with the simulator's generated ones. Prices hold still (no drift), so the
 * dishes an order scenario picks stay orderable at their price for the whole run. Idempotent.
 */
async function prepare(dbUrl: string, partnerEnv: Record<string, string>) {
  const { db } = createDatabase({ url: dbUrl, max: 2 });
  try {
    await migrateToLatest(db);
    await seedDemoCity(db);
    const { rows } = await sql<{ restaurant_id: string; id: string; name: string; price_cents: number }>`
      SELECT restaurant_id, catalog_item_id AS id, name, price_cents FROM menu_items ORDER BY restaurant_id, position`.execute(db);
    const control = `${partnerEnv.CATALOG_URL!.replace(/\/catalog\/?$/, '')}/_sim/catalog/restaurants`;
    const menus = Map.groupBy(rows, (r) => r.restaurant_id);
    await Promise.all(
      [...menus].map(async ([restaurantId, items]) => {
        const res = await fetch(`${control}/${restaurantId}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items: items.map(({ id, name, price_cents }) => ({ id, name, price_cents })), drift: false }),
        });
        if (!res.ok) throw new Error(`catalog simulator: ${res.status} ${await res.text()}`);
      }),
    );
  } finally {
    await db.destroy();
  }
}

/**
 * `dabba serve` in its own process, on the demo city; `extra` varies its configuration, `nodeFlags` its
 * node (e.g. `--cpu-prof`), `checkout` the code it runs (another checkout of dabba: bench/compare.ts).
 */
export async function startApi(
  dbUrl: string,
  partnerEnv: Record<string, string>,
  extra: Record<string, string> = {},
  nodeFlags: string[] = [],
  checkout?: string,
) {
  await prepare(dbUrl, partnerEnv);
  const port = await freePort();
  const args = (await serveArgs()).map((arg) => (checkout && arg === 'src/cli.ts' ? path.join(checkout, arg) : arg));
  const api = await startNode(
    [...nodeFlags, ...args],
    { ...partnerEnv, DATABASE_URL: dbUrl, PORT: String(port), JWT_SECRET, LOG_LEVEL: 'warn', ...extra },
    new URL(`http://127.0.0.1:${port}/readyz`),
  );
  return { api, url: `http://127.0.0.1:${port}` };
}

export async function startBaseline(dbUrl: string, partnerEnv: Record<string, string>, extra: Record<string, string> = {}, nodeFlags: string[] = []) {
  const port = await freePort();
  const baseline = await startNode(
    [...nodeFlags, 'bench/baselines/bare.server.ts'],
    { ...partnerEnv, DATABASE_URL: dbUrl, PORT: String(port), ...extra },
    /baseline listening/,
  );
  return { baseline, url: `http://127.0.0.1:${port}` };
}

/** A demo customer's token, and what an order may contain: dishes of POS restaurants that deliver across the load area. */
export async function orderFixtures(apiUrl: string) {
  const login = await fetch(`${apiUrl}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'customer@dabba.test', password: 'dabba-demo' }),
  });
  const { token } = (await login.json()) as { token: string };
  const nearby = (await (await fetch(`${apiUrl}/v1/restaurants?lat=${CENTER.lat}&lng=${CENTER.lng}&limit=50`)).json()) as {
    items: { id: string; pos_integrated: boolean; delivery_radius_km: number; distance_km: number }[];
  };
  const menu: { restaurant_id: string; menu_item_id: string }[] = [];
  for (const r of nearby.items.filter((r) => r.pos_integrated && r.delivery_radius_km - r.distance_km > 2)) {
    const m = (await (await fetch(`${apiUrl}/v1/restaurants/${r.id}/menu`)).json()) as { items: { id: string; price_cents: number }[] };
    for (const item of m.items.filter((i) => i.price_cents < 400_000).slice(0, 3)) menu.push({ restaurant_id: r.id, menu_item_id: item.id });
  }
  return { token, menu };
}

export interface Stage {
  sim: Started;
  api: Started;
  baseline: Started;
  urls: Record<Server, string>;
  token: string;
  menu: { restaurant_id: string; menu_item_id: string }[];
  latency: Record<string, PartnerLatency>;
}

type Partners = Awaited<ReturnType<typeof startPartners>>;

/**
 * Both servers on the demo city, with the partners given (else fresh simulators); `env` goes to both
 * (e.g. PARTNER_CONNECTIONS), `flags` to each one's node (e.g. `--cpu-prof`).
 */
export async function startStage(
  dbUrl: string,
  opts: { partners?: Partners; env?: Record<string, string>; flags?: { api: string[]; baseline: string[] } } = {},
): Promise<Stage> {
  const partners = opts.partners ?? (await startPartners());
  const { api, url: apiUrl } = await startApi(dbUrl, partners.env, opts.env, opts.flags?.api);
  const { baseline, url: baseUrl } = await startBaseline(dbUrl, partners.env, opts.env, opts.flags?.baseline);
  const { token, menu } = await orderFixtures(apiUrl);
  return { sim: partners.sim, api, baseline, urls: { dabba: apiUrl, baseline: baseUrl }, token, menu, latency: partners.latency };
}
