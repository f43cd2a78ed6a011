/**
 * What a chaos campaign runs against: one PostgreSQL (embedded in a temporary directory, so it can be
 * stopped and started again; or a fresh database on DATABASE_URL's server), the partner simulators
 * in this process, and `dabba serve` as a child process that can be killed with SIGKILL and started
 * again with the same command. Everything listens on 127.0.0.1; everything started here is stopped here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { offset } from '../src/domain/geo.ts';
import type { Role } from '../src/domain/identity.ts';
import { TokenService } from '../src/services/token.service.ts';
import { type SimServer, startSimServer } from '../sim/server.ts';
import { freePort } from './processes.ts';

export const CENTER = { lat: 19.076, lng: 72.8777 };
const CLI = path.resolve('src/cli.ts');
const JWT_SECRET = 'chaos-campaign-secret-0123456789abcdef';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The database, and the one fault that needs it embedded: a stop and a start on the same directory and port. */
export class ChaosDatabase {
  readonly url: string;
  readonly embedded: boolean;
  #pg: EmbeddedDatabase | undefined;
  readonly #dataDir: string | undefined;
  readonly #port: number;
  readonly #drop: (() => Promise<void>) | undefined;

  private constructor(opts: { url: string; pg?: EmbeddedDatabase; dataDir?: string; port?: number; drop?: () => Promise<void> }) {
    this.url = opts.url;
    this.embedded = opts.pg !== undefined;
    this.#pg = opts.pg;
    this.#dataDir = opts.dataDir;
    this.#port = opts.port ?? 0;
    this.#drop = opts.drop;
  }

  static async start(given: string | undefined): Promise<ChaosDatabase> {
    if (given) {
      // A database of its own on the given server, so the campaign never sees (or leaves) anyone's rows.
      const name = `dabba_chaos_${process.pid}_${Date.now()}`;
      const admin = async (statement: string) => {
        const u = new URL(given);
        u.pathname = '/postgres';
        const client = new pg.Client({ connectionString: u.toString() });
        await client.connect();
        await client.query(statement).finally(() => client.end());
      };
      await admin(`CREATE DATABASE ${name}`);
      const u = new URL(given);
      u.pathname = `/${name}`;
      return new ChaosDatabase({ url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) });
    }
    const dataDir = await mkdtemp(path.join(tmpdir(), 'dabba-chaos-pg-'));
    const port = await freePort();
    const embedded = await startEmbeddedPostgres({ dataDir, port });
    return new ChaosDatabase({ url: embedded.url, pg: embedded, dataDir, port });
  }

  /** Fast shutdown (sessions cut), `downMs` with nothing listening, then the same cluster again. */
  async restart(downMs: number) {
    if (!this.#pg || !this.#dataDir) throw new Error('only an embedded PostgreSQL can be restarted');
    await this.#pg.close();
    this.#pg = undefined;
    await sleep(downMs);
    this.#pg = await startEmbeddedPostgres({ dataDir: this.#dataDir, port: this.#port });
  }

  async close() {
    await this.#drop?.().catch(() => {});
    await this.#pg?.close();
    if (this.#dataDir) await rm(this.#dataDir, { recursive: true, force: true });
  }
}

/** One `dabba serve` process at a time; an exit nobody asked for is recorded, never hidden. */
export class ApiProcess {
  readonly base: string;
  readonly #env: Record<string, string>;
  #child: ChildProcess | undefined;
  #expected = false;
  #output = '';
  #fatal: string | undefined;
  /** `fatal`: the line close-with-grace logged for the error nobody handled (kept apart: the tail fills up while the process closes). */
  readonly deaths: { at: number; code: number | null; signal: string | null; fatal?: string; tail: string }[] = [];

  constructor(port: number, env: Record<string, string>) {
    this.base = `http://127.0.0.1:${port}`;
    this.#env = { ...env, PORT: String(port) };
  }

  get pid() {
    return this.#child?.pid;
  }

  alive() {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The same command every time, as an operator's supervisor would run it. */
  async start(timeoutMs = 60_000) {
    const child = spawn(process.execPath, [CLI, 'serve'], { env: { ...process.env, ...this.#env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#expected = false;
    // Each process's own output: a death is explained by what that process said, not its predecessor.
    this.#output = '';
    this.#fatal = undefined;
    const keep = (d: Buffer) => {
      this.#output = (this.#output + d.toString()).slice(-20_000);
      this.#fatal ??= this.#output.split('\n').find((l) => l.includes('"msg":"closing after an error"'));
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', (code, signal) => {
      if (!this.#expected) this.deaths.push({ at: Date.now(), code, signal, fatal: this.#fatal, tail: this.#output.slice(-4_000) });
    });
    if (!(await this.waitReady(timeoutMs))) throw new Error(`dabba serve not ready in ${timeoutMs} ms:\n${this.#output.slice(-4_000)}`);
  }

  /** Polls /readyz: true once the API answers ready (database reachable), false after `timeoutMs` or if it exits. */
  async waitReady(timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive()) return false;
      const ok = await fetch(`${this.base}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return true;
      await sleep(100);
    }
    return false;
  }

  /** kill -9: no chance to drain, relay, or release anything. */
  async kill9() {
    const child = this.#child;
    if (!child || !this.alive()) return;
    this.#expected = true;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM, bounded; SIGKILL if the graceful stop hangs. */
  async stop() {
    const child = this.#child;
    if (!child || !this.alive()) return;
    this.#expected = true;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  output() {
    return this.#output;
  }
}

export const PARTNERS = ['payments', 'pos', 'eta', 'notify', 'catalog'] as const;
export type Partner = (typeof PARTNERS)[number];
export interface PartnerSettings {
  median_ms?: number;
  p99_ms?: number;
  error_rate?: number;
  mode?: 'normal' | 'hang' | 'down';
}
/** Quicker than the simulators' defaults so rounds stay short, slow enough that a fault lands mid-checkout. */
const BASE: Record<Partner, PartnerSettings> = {
  payments: { median_ms: 120, p99_ms: 500, error_rate: 0, mode: 'normal' },
  pos: { median_ms: 150, p99_ms: 600, error_rate: 0, mode: 'normal' },
  eta: { median_ms: 30, p99_ms: 120, error_rate: 0, mode: 'normal' },
  notify: { median_ms: 30, p99_ms: 120, error_rate: 0, mode: 'normal' },
  catalog: { median_ms: 30, p99_ms: 120, error_rate: 0, mode: 'normal' },
};

/** The simulators, in this process, driven and read through their own control API. */
export class ChaosSim {
  readonly server: SimServer;
  constructor(server: SimServer) {
    this.server = server;
  }

  async control<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.server.url}/_sim${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`sim ${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  set(partner: Partner, settings: PartnerSettings) {
    return this.control('PUT', `/partners/${partner}`, settings);
  }

  async normal() {
    await Promise.all(PARTNERS.map((p) => this.set(p, BASE[p])));
  }

  env(): Record<string, string> {
    const u = this.server.url;
    return { PAYMENTS_URL: `${u}/payments`, POS_URL: `${u}/pos`, ETA_URL: `${u}/eta`, NOTIFY_URL: `${u}/notify`, CATALOG_URL: `${u}/catalog` };
  }
}

export interface Restaurant {
  id: string;
  pos: boolean;
  items: { id: string; price_cents: number }[];
}
export interface Account {
  id: string;
  email: string;
  token: string;
}

/** Accounts and restaurants every round shares: an owner of six restaurants (three on a POS), a courier, an admin. */
export interface World {
  owner: Account;
  courier: Account;
  admin: Account;
  restaurants: Restaurant[];
  newCustomer(round: number): Promise<Account>;
}

export async function seedWorld(sql: pg.Pool, sim: ChaosSim): Promise<World> {
  // The API's own issuer with the API's secret, so the tokens carry whatever claims the API requires.
  const tokens = new TokenService(JWT_SECRET, 24 * 3600);
  const account = async (role: Role, name: string): Promise<Account> => {
    const email = `${name}-${process.pid}@chaos.dabba.test`;
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO users (email, name, role, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
      [email, name, role],
    );
    const id = rows[0]!.id;
    if (role === 'courier') await sql.query(`INSERT INTO couriers (user_id, vehicle, lat, lng) VALUES ($1, 'scooter', $2, $3)`, [id, CENTER.lat, CENTER.lng]);
    return { id, email, token: tokens.issue({ id, role }) };
  };
  const owner = await account('restaurant', 'chaos-owner');
  const courier = await account('courier', 'chaos-courier');
  const admin = await account('admin', 'chaos-admin');
  const restaurants: Restaurant[] = [];
  for (let i = 0; i < 6; i++) {
    const at = offset(CENTER, 60 * i, 1);
    const pos = i % 2 === 0;
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO restaurants (owner_id, name, cuisine, address, lat, lng, delivery_radius_km, prep_minutes, is_open, pos_integrated)
       VALUES ($1, $2, 'Street Food', '1 Chaos Road', $3, $4, 8, 15, true, $5) RETURNING id`,
      [owner.id, `Chaos Kitchen ${i + 1}`, at.lat, at.lng, pos],
    );
    const { rows: items } = await sql.query<{ id: string; name: string; price_cents: number }>(
      `INSERT INTO menu_items (restaurant_id, name, category, price_cents, position)
       VALUES ($1, 'Vada Pav', 'Mains', 4000, 0), ($1, 'Misal', 'Mains', 9000, 1), ($1, 'Thali', 'Mains', 12000, 2)
       RETURNING id, name, price_cents`,
      [rows[0]!.id],
    );
    // The catalog partner lists the same dishes (an item dabba made is known there by dabba's id), at
    // fixed prices, all available: menus are not what the campaign is about, so a menu sync changes nothing.
    await sim.control('PUT', `/catalog/restaurants/${rows[0]!.id}`, {
      items: items.map((i) => ({ id: i.id, name: i.name, price_cents: i.price_cents })),
      drift: false,
    });
    restaurants.push({ id: rows[0]!.id, pos, items });
  }
  return {
    owner,
    courier,
    admin,
    restaurants,
    newCustomer: (round) => account('customer', `chaos-customer-r${round}`),
  };
}

/** The environment `dabba serve` gets: quick sweeps and job polling, so a round settles in seconds rather than minutes. */
export function apiEnv(databaseUrl: string, sim: ChaosSim): Record<string, string> {
  return {
    ...sim.env(),
    DATABASE_URL: databaseUrl,
    NODE_ENV: 'test',
    JWT_SECRET,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    PLACED_STUCK_AFTER_MS: '5000',
    SWEEP_INTERVAL_MS: '500',
    JOB_POLL_INTERVAL_MS: '500',
    // Shedding is not under test, and a busy 2-core machine must not turn the burst into 503s.
    SHED_MAX_LOOP_DELAY_MS: '0',
    // One process, so kill -9 takes the whole API down.
    WORKERS: '1',
  };
}

export async function startSim() {
  const sim = new ChaosSim(await startSimServer({ port: 0 }));
  await sim.normal();
  return sim;
}
