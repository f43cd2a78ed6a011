import { randomUUID } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';
import { type SimServer, startSimServer } from '../sim/server.ts';
import { type App, type BuildOptions, build } from '../src/app.ts';
import { type Config, loadConfig } from '../src/config.ts';
import { createDatabase, type Db } from '../src/db/database.ts';
import { offset } from '../src/domain/geo.ts';
import type { Role } from '../src/domain/identity.ts';
import { hashPassword } from '../src/services/password-hasher.ts';

const serverUrl = process.env.DABBA_TEST_SERVER_URL;
const template = process.env.DABBA_TEST_TEMPLATE;
if (!serverUrl || !template) throw new Error('integration tests run through `npm test` (test/run.ts), which provides the database');

export const TEST_PASSWORD = 'correct horse battery';
const passwordHash = await hashPassword(TEST_PASSWORD);
export const CENTER = { lat: 19.076, lng: 72.8777 };

export function databaseUrl(name: string) {
  const u = new URL(serverUrl!);
  u.pathname = `/${name}`;
  return u.toString();
}

async function adminQuery(statement: string) {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A fresh database, migrated unless asked otherwise (cloned from the run's template). */
export async function createTestDatabase(opts: { migrated?: boolean } = {}) {
  const name = `dabba_test_${randomUUID().replaceAll('-', '')}`;
  await adminQuery(opts.migrated === false ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${template}`);
  return { url: databaseUrl(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

export function testConfig(url: string, env: Record<string, string> = {}): Config {
  // Shedding is off unless a test is about it: a shared CI machine's loop delay says nothing about dabba.
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: url,
    LOG_LEVEL: 'silent',
    SEED_DEMO: 'false',
    SHED_MAX_LOOP_DELAY_MS: '0',
    // Files run two at a time, several apps each, and a stock PostgreSQL allows 100 connections.
    DATABASE_POOL_MAX: '8',
    // No scheduled menu sync unless a test is about it: it would replace test menus with the simulator's generated ones.
    MENU_SYNC_CRON: 'off',
    // Rate limits are off unless a test is about them: tests sign in far more often than people do.
    LOGIN_RATE_PER_MINUTE: '0',
    LOGIN_ACCOUNT_RATE_PER_MINUTE: '0',
    REGISTER_RATE_PER_MINUTE: '0',
    ...env,
  });
}

export const PARTNERS = ['payments', 'pos', 'eta', 'notify', 'catalog'] as const;
export type Partner = (typeof PARTNERS)[number];

/** The real partner simulators over HTTP, one server per test file, driven through their control API. */
export class Sim {
  readonly server: SimServer;

  constructor(server: SimServer) {
    this.server = server;
  }

  async control(method: string, path: string, body?: unknown) {
    const res = await fetch(`${this.server.url}/_sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`sim ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  set(partner: Partner, settings: { median_ms?: number; p99_ms?: number; error_rate?: number; mode?: 'normal' | 'hang' | 'down' }) {
    return this.control('PUT', `/partners/${partner}`, settings);
  }

  /** A few milliseconds per call, no errors: the default for tests that are not about partners. */
  async fast() {
    await Promise.all(PARTNERS.map((p) => this.set(p, { median_ms: 1, p99_ms: 4, error_rate: 0, mode: 'normal' })));
  }

  async ledger(orderId?: string): Promise<LedgerEntry[]> {
    const body = await this.control('GET', `/payments/ledger${orderId ? `?order_id=${orderId}` : ''}`);
    return Array.isArray(body) ? body : body.entries;
  }
}

export interface LedgerEntry {
  kind: 'authorize' | 'capture' | 'void' | 'refund';
  order_id: string;
  authorization_id: string | null;
  amount_cents: number;
  idempotency_key: string;
  outcome: string;
  replay: boolean;
}

export async function startSim() {
  const sim = new Sim(await startSimServer({ port: 0 }));
  await sim.fast();
  return sim;
}

export function partnerEnv(sim: Sim): Record<string, string> {
  const base = sim.server.url;
  return {
    PAYMENTS_URL: `${base}/payments`,
    POS_URL: `${base}/pos`,
    ETA_URL: `${base}/eta`,
    NOTIFY_URL: `${base}/notify`,
    CATALOG_URL: `${base}/catalog`,
  };
}

export interface TestContext {
  app: App;
  url: string;
  /** The test's own connections to the app's database: raw SQL, and Kysely for code under test that takes a Db. */
  sql: pg.Pool;
  db: Db;
  sim: Sim;
}

/** The real app on a fresh database with real partner simulators; closed with the test file. */
export async function setup(opts: BuildOptions & { env?: Record<string, string> } = {}): Promise<TestContext> {
  const { url, drop } = await createTestDatabase();
  const sim = await startSim();
  const app = await build(testConfig(url, { JOB_POLL_INTERVAL_MS: '500', ...partnerEnv(sim), ...opts.env }), opts);
  await app.ready();
  const sql = new pg.Pool({ connectionString: url, max: 4 });
  sql.on('error', () => {});
  const { db } = createDatabase({ url, max: 2 });
  after(async () => {
    await app.close();
    await sim.server.close();
    await sql.end();
    await db.destroy();
    await drop();
  });
  return { app, url, sql, db, sim };
}

/** Polls until `check` returns a truthy value; fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Actor {
  id: string;
  role: Role;
  email: string;
  token: string;
  auth: { authorization: string };
}

export async function createUser(ctx: TestContext, role: Role, name = role): Promise<Actor> {
  const email = `${name}-${randomUUID().slice(0, 8)}@dabba.test`;
  const { rows } = await ctx.sql.query<{ id: string }>(
    'INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING id',
    [email, name, role, passwordHash],
  );
  const id = rows[0]!.id;
  if (role === 'courier') {
    await ctx.sql.query(`INSERT INTO couriers (user_id, vehicle, lat, lng) VALUES ($1, 'scooter', $2, $3)`, [id, CENTER.lat, CENTER.lng]);
  }
  const token = ctx.app.services.tokens.issue({ id, role });
  return { id, role, email, token, auth: { authorization: `Bearer ${token}` } };
}

export interface TestRestaurant {
  id: string;
  ownerId: string;
  items: { id: string; price_cents: number; name: string }[];
}

export async function createRestaurant(
  ctx: TestContext,
  owner: Actor,
  opts: {
    at?: { lat: number; lng: number };
    isOpen?: boolean;
    radiusKm?: number;
    items?: number;
    name?: string;
    /** POS-integrated restaurants are confirmed by their POS; tablet ones (the default) by staff. */
    pos?: boolean;
  } = {},
): Promise<TestRestaurant> {
  const at = opts.at ?? offset(CENTER, 45, 1);
  const { rows } = await ctx.sql.query<{ id: string }>(
    `INSERT INTO restaurants (owner_id, name, cuisine, address, lat, lng, delivery_radius_km, prep_minutes, is_open, pos_integrated)
     VALUES ($1, $2, 'Street Food', '1 Test Road, Mumbai', $3, $4, $5, 15, $6, $7) RETURNING id`,
    [owner.id, opts.name ?? `Test Kitchen ${randomUUID().slice(0, 6)}`, at.lat, at.lng, opts.radiusKm ?? 8, opts.isOpen ?? true, opts.pos ?? false],
  );
  const id = rows[0]!.id;
  const items = [];
  for (let i = 0; i < (opts.items ?? 3); i++) {
    const { rows: item } = await ctx.sql.query<{ id: string; price_cents: number; name: string }>(
      `INSERT INTO menu_items (restaurant_id, name, category, price_cents, position)
       VALUES ($1, $2, 'Mains', $3, $4) RETURNING id, price_cents, name`,
      [id, `Dish ${i + 1}`, 10_000 + i * 2_500, i],
    );
    items.push(item[0]!);
  }
  // Written behind the app's back: wait until its feed has heard of the new restaurant.
  await ctx.app.services.catalogChanges.barrier();
  return { id, ownerId: owner.id, items };
}

/** The people around a delivery: a customer, a POS restaurant and its owner, a courier and an admin. */
export async function deliveryCast(ctx: TestContext) {
  const [customer, owner, courier, admin] = await Promise.all(
    (['customer', 'restaurant', 'courier', 'admin'] as const).map((role) => createUser(ctx, role)),
  );
  const restaurant = await createRestaurant(ctx, owner!, { pos: true });
  return { customer: customer!, owner: owner!, courier: courier!, admin: admin!, restaurant };
}

export function orderBody(r: TestRestaurant, overrides: Record<string, unknown> = {}) {
  return {
    restaurant_id: r.id,
    items: [{ menu_item_id: r.items[0]!.id, quantity: 2 }],
    delivery: { ...offset(CENTER, 90, 1), address: '12 Marine Drive, Mumbai' },
    ...overrides,
  };
}

export async function placeOrder(ctx: TestContext, customer: Actor, r: TestRestaurant, key = randomUUID()) {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/v1/orders',
    headers: { ...customer.auth, 'idempotency-key': key },
    payload: orderBody(r),
  });
  if (res.statusCode !== 201) throw new Error(`placing an order failed: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string; status: string; version: number; total_cents: number };
}

/** A digest of every table's rows: equal before and after means a request changed nothing. */
export async function databaseDigest(sql: pg.Pool) {
  const tables = ['users', 'couriers', 'restaurants', 'menu_items', 'orders', 'order_items', 'order_events'];
  // The relay clears follow_ups_pending in its own time: bookkeeping, not something a request changed.
  const row = (t: string) =>
    t === 'order_events' ? '(t.id, t.order_id, t.from_status, t.to_status, t.actor_id, t.actor_role, t.reason, t.created_at)::text' : 't::text';
  const parts = await Promise.all(
    tables.map(async (t) => {
      const { rows } = await sql.query<{ d: string | null }>(`SELECT md5(string_agg(${row(t)}, '|' ORDER BY ${row(t)})) AS d FROM ${t} t`);
      return `${t}:${rows[0]!.d}`;
    }),
  );
  return parts.join(',');
}
