/**
 * Shared by the operations tests (metrics, logs, traces, shedding, shutdown, workers): reading the
 * Prometheus text format and JSON log lines, and running the real `dabba serve` as a child process
 * against a database seeded by SQL, with tokens minted the way the API mints them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createSigner } from 'fast-jwt';
import type pg from 'pg';
import { offset } from '../src/domain/geo.ts';
import { CENTER, type Sim, partnerEnv } from './helper.ts';
import { freePort } from '../bench/processes.ts';

// ---------------------------------------------------------------------------------------------
// Prometheus text format

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the exposition format line by line; throws on a line that is not a comment or a sample. */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    // Prometheus parses values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan").
    const raw = m[3]!;
    const special: Record<string, number> = { nan: Number.NaN, '+inf': Infinity, inf: Infinity, '-inf': -Infinity };
    const value = raw.toLowerCase() in special ? special[raw.toLowerCase()]! : Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') throw new Error(`bad sample value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** Samples called `name` whose labels include every label in `labels`. */
export function find(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The one sample matching `name` and `labels`, or a failure naming what was there instead. */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = find(samples, name, labels);
  if (found.length !== 1) {
    const near = samples.filter((s) => s.name === name).map((s) => JSON.stringify(s.labels));
    throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}; present: ${near.join(' ') || 'none'}`);
  }
  return found[0]!.value;
}

// ---------------------------------------------------------------------------------------------
// JSON log lines

export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** A pino destination that keeps every line, raw and parsed. */
export class LogCollector extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void) {
    this.text += chunk.toString();
    done();
  }

  lines(): LogLine[] {
    return parseJsonLines(this.text);
  }
}

/** JSON objects, one per line; other lines (banners, warnings) are skipped. */
export function parseJsonLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut in half by the reader; the next read has it whole
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Seeding by SQL and tokens, for API processes the test does not build itself

export const TEST_JWT_SECRET = 'ops-test-secret-0123456789abcdef0123456789';

export function mintToken(sub: string, role: string, secret = TEST_JWT_SECRET) {
  const sign = createSigner({ key: secret, algorithm: 'HS256', iss: 'dabba', aud: 'dabba-api', expiresIn: 3_600_000 });
  return sign({ sub, role, ver: 1 });
}

export interface SeededWorld {
  customers: { id: string; token: string }[];
  restaurant: { id: string; itemId: string };
}

/** Customers with tokens and one open, POS-integrated restaurant 1 km from CENTER with one dish. */
export async function seedWorld(sql: pg.Pool, opts: { customers?: number; secret?: string } = {}): Promise<SeededWorld> {
  const customers: SeededWorld['customers'] = [];
  for (let i = 0; i < (opts.customers ?? 1); i++) {
    const { rows } = await sql.query<{ id: string }>(
      `INSERT INTO users (email, name, role, password_hash) VALUES ($1, 'Ops Customer', 'customer', 'not-a-hash') RETURNING id`,
      [`ops-${randomUUID().slice(0, 8)}@dabba.test`],
    );
    customers.push({ id: rows[0]!.id, token: mintToken(rows[0]!.id, 'customer', opts.secret) });
  }
  const { rows: owner } = await sql.query<{ id: string }>(
    `INSERT INTO users (email, name, role, password_hash) VALUES ($1, 'Ops Owner', 'restaurant', 'not-a-hash') RETURNING id`,
    [`ops-owner-${randomUUID().slice(0, 8)}@dabba.test`],
  );
  const at = offset(CENTER, 45, 1);
  const { rows: r } = await sql.query<{ id: string }>(
    `INSERT INTO restaurants (owner_id, name, cuisine, address, lat, lng, delivery_radius_km, prep_minutes, is_open, pos_integrated)
     VALUES ($1, 'Ops Kitchen', 'Street Food', '1 Test Road, Mumbai', $2, $3, 8, 15, true, true) RETURNING id`,
    [owner[0]!.id, at.lat, at.lng],
  );
  const { rows: item } = await sql.query<{ id: string }>(
    `INSERT INTO menu_items (restaurant_id, name, category, price_cents, position) VALUES ($1, 'Vada Pav', 'Mains', 12000, 0) RETURNING id`,
    [r[0]!.id],
  );
  return { customers, restaurant: { id: r[0]!.id, itemId: item[0]!.id } };
}

export function orderPayload(world: SeededWorld) {
  return {
    restaurant_id: world.restaurant.id,
    items: [{ menu_item_id: world.restaurant.itemId, quantity: 1 }],
    delivery: { ...offset(CENTER, 90, 1), address: '12 Marine Drive, Mumbai' },
  };
}

// ---------------------------------------------------------------------------------------------
// The real command line as a child process

const CLI = path.resolve('src/cli.ts');

export { freePort };

export interface CliProcess {
  child: ChildProcess;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  output(): string;
  /** When the child exited (performance.now()), once it has. */
  exitedAt(): number | undefined;
  /** SIGKILL unless it has exited already; safe to call twice. */
  kill(): Promise<void>;
}

/** `node src/cli.ts …args` with `env` over this process's environment; stdout and stderr kept together. */
export function runCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exitedAt: number | undefined;
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = once(child, 'exit').then((r) => {
    exitedAt = performance.now();
    return r;
  }) as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    exited,
    output: () => output,
    exitedAt: () => exitedAt,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function waitReady(base: string, proc: CliProcess, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`exited early:\n${proc.output()}`);
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready in ${ms} ms:\n${proc.output()}`);
}

/** Resolves with what `exited` resolves with, or fails after `ms` (the process is left to `after`). */
export async function exitWithin(proc: CliProcess, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      proc.exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`did not exit within ${ms} ms:\n${proc.output().slice(-4000)}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What a spawned `dabba serve` gets here: loopback, the test's database and simulators, and no load
 * shedding (these tests are not about it, and a cold start's loop lag must not turn requests into 503s).
 */
export function serveEnv(port: number, databaseUrl: string, sim: Sim, extra: Record<string, string> = {}) {
  return {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    ...partnerEnv(sim),
    SEED_DEMO: 'false',
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'info',
    SHED_MAX_LOOP_DELAY_MS: '0',
    // The test's restaurants are not in the catalog simulator, whose generated menus a sync would take
    // for theirs, marking the test's dishes unavailable mid-test (as testConfig() does for in-process apps).
    MENU_SYNC_CRON: 'off',
    ...extra,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
