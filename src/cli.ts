#!/usr/bin/env node

import { type ChildProcess, spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { ConfigError, type Config, loadConfig } from './config.ts';
import { createDatabase } from './db/database.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded-postgres.ts';
import { migrateToLatest } from './db/migrate.ts';
import { simulatedCatalog } from './db/seed/demo-catalog.ts';
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from './db/seed/demo-city.ts';
import { endsWithUs } from './child-lifetime.ts';
import { superviseWorkers } from './cluster.ts';
import { startServer, stopServer } from './server.ts';

const USAGE = `usage: dabba <command>

  up        everything on this machine: embedded PostgreSQL (unless DATABASE_URL), the partner
            simulators (unless their URLs are set) and the API on PORT
  serve     the API only (production): needs DATABASE_URL, JWT_SECRET and the partner URLs, and
            never seeds the demo city, whatever NODE_ENV says;
            --workers N (or WORKERS=N) runs N processes sharing the port
  migrate   apply database migrations and exit
  partners  the partner simulators only, on SIM_PORT
  bench     the benchmark: --scenario feed|order|shed (default all), overhead (tracing and
            loop-monitor cost), track (10,000 watchers, 1,000 couriers), dispatch (a 500 × 1,000
            solve off the loop), export (a 1,000,000-order CSV export's memory), cpu (the CPU-bound
            regime: fast partners, three rounds; with --profile, CPU profiles of both servers
            instead) or soak (half of capacity for --minutes, default 30), --quick
  demo      what \`up\` starts, plus the demo city alive: customers ordering, restaurants cooking,
            couriers riding, all through the API; --rate N (orders a minute), --time-scale N,
            --minutes M, --orders K, --max-in-flight N, --max-error-rate F, --couriers N,
            --customers N, --json;
            --url http://127.0.0.1:PORT drives an API already running instead`;

/** DATABASE_URL when given; otherwise the embedded PostgreSQL under DABBA_DATA_DIR. */
async function database(config: Config): Promise<{ config: Config; embedded?: EmbeddedDatabase }> {
  if (config.database.url) return { config };
  const embedded = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.database.embeddedPort,
    announce: (line) => process.stdout.write(`${line}\n`),
  });
  return { config: { ...config, database: { ...config.database, url: embedded.url } }, embedded };
}

const PARTNER_NAMES = ['payments', 'pos', 'eta', 'notify', 'catalog'] as const;

/**
 * The partner simulators in a process of their own (so they never compete with the API's event loop),
 * unless every partner URL is set. Resolves once they answer.
 */
async function partnerSimulators(config: Config): Promise<{ config: Config; child?: ChildProcess }> {
  if (PARTNER_NAMES.every((p) => config.partners[p])) return { config };
  const child = endsWithUs(
    spawn(process.execPath, [fileURLToPath(import.meta.url), 'partners'], {
      env: { ...process.env, SIM_PORT: String(config.simPort), SIM_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the partner simulators exited with code ${code} before starting`);
    }),
  ])) as [Buffer];
  child.stdout!.pipe(process.stdout);
  const base = /(http:\/\/\S+)/.exec(line.toString())?.[1] ?? `http://127.0.0.1:${config.simPort}`;
  const partners = Object.fromEntries(PARTNER_NAMES.map((p) => [p, config.partners[p] ?? `${base}/${p}`])) as Config['partners'];
  return { config: { ...config, partners }, child };
}

async function stopChild(child: ChildProcess | undefined) {
  if (!child || child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

function banner(config: Config) {
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  const accounts = Object.values(DEMO_ACCOUNTS).map((e) => `    ${e}`).join('\n');
  return `
dabba is up
  pages     ${base}/   (ops dashboard ${base}/ops, customer, restaurant board, courier)
  API       ${base}/v1
  docs      ${base}/docs   (OpenAPI: ${base}/openapi.json)
  health    ${base}/healthz  ${base}/readyz
  partners  ${config.partners.payments?.replace(/\/payments$/, '')}  (control API: /_sim, see sim/README.md)
${config.seedDemo ? `  demo accounts (password "${DEMO_PASSWORD}"):\n${accounts}\n` : ''}  Ctrl-C stops everything.
`;
}

/** What `dabba up` says first: what in this setup is published, so nobody mistakes it for a deployment. */
function developmentNotice(config: Config) {
  const published = [
    config.jwt.published && 'tokens signed with the published development secret',
    config.seedDemo && `demo accounts with the published password "${DEMO_PASSWORD}"`,
  ].filter(Boolean);
  const what = published.length > 0 ? `: ${published.join(', ')}` : '';
  return `development mode (dabba up)${what}; in production run \`dabba serve\` with JWT_SECRET set\n`;
}

interface UpHooks {
  /** Runs first when everything stops; a reason it returns makes the exit code 1, once all has stopped. */
  beforeStop?: () => Promise<string | undefined>;
  /** How much longer than the API's own drain the stop may take, for what `beforeStop` does. */
  stopBudgetMs?: number;
}

async function up(config: Config, hooks: UpHooks = {}) {
  if (config.mode === 'development') process.stdout.write(developmentNotice(config));
  let app: Awaited<ReturnType<typeof startServer>> | undefined;
  let embedded: EmbeddedDatabase | undefined;
  let simulators: ChildProcess | undefined;
  // Installed first, so a signal during start-up still stops whatever has started.
  const grace = closeWithGrace({ delay: config.shutdownTimeoutMs + 5_000 + (hooks.stopBudgetMs ?? 0), logger: false }, async ({ signal, err }) => {
    if (err) process.stderr.write(`${err.stack ?? err}\n`);
    if (signal) process.stdout.write(`\n${signal}: stopping …\n`);
    const failure = await hooks.beforeStop?.();
    if (app) await stopServer(app, config.shutdownTimeoutMs);
    await stopChild(simulators);
    await embedded?.close();
    if (failure) throw new Error(failure);
  });
  const withDb = await database(config);
  embedded = withDb.embedded;
  const withPartners = await partnerSimulators(withDb.config);
  simulators = withPartners.child;
  // Only a catalog simulator this command started is made to agree with the database; a real catalog is the truth.
  const catalog = simulators && !withDb.config.partners.catalog ? simulatedCatalog(withPartners.config.partners.catalog!) : undefined;
  await catalog?.holdUnknown();
  app = await startServer(withPartners.config);
  await catalog?.load(app.services.menuSync, app.log);
  process.stdout.write(banner(withPartners.config));
  return { app, stop: () => grace.close() };
}

/**
 * `dabba demo`: what `up` starts, set for a city of simulated clients on this machine, and the city
 * simulation in a process of its own (`demo --url`), so its clients never compete with the API's event
 * loop; when the city stops (a bound reached, or Ctrl-C), the API stops after it, as `up` does.
 */
async function demo(config: Config, json: boolean) {
  if (!config.seedDemo) throw new ConfigError('Invalid configuration: `dabba demo` needs the demo city: SEED_DEMO=true, outside production');
  const { cityEnv, demoApiConfig } = await import('../sim/city/city-command.ts');
  // A request line per order step would bury the city's own figures; LOG_LEVEL still says otherwise.
  const apiConfig: Config = { ...demoApiConfig(config), logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' };
  let city: { child: ChildProcess; exited: Promise<[number | null]> } | undefined;
  let stopping = false;
  const started = await up(apiConfig, {
    // The city closes its streams and sockets and sends its couriers off shift (each within 2 s).
    stopBudgetMs: 10_000,
    async beforeStop() {
      stopping = true;
      if (!city) return undefined;
      const { child, exited } = city;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const [code] = await exited;
      return code === 0 ? undefined : 'the city simulation failed';
    },
  });
  // Stopped while starting: no city to start.
  if (stopping) return;
  const child = endsWithUs(
    spawn(process.execPath, [fileURLToPath(import.meta.url), 'demo', '--url', loopbackUrl(started.app), ...(json ? ['--json'] : [])], {
      env: { ...process.env, ...cityEnv(config.demo), COURIER_MAX_SPEED_KMH: String(apiConfig.couriers.maxSpeedKmh) },
      stdio: 'inherit',
    }),
  );
  city = { child, exited: once(child, 'exit') as Promise<[number | null]> };
  void city.exited.then(() => {
    if (!stopping) void started.stop();
  });
}

/** Where a client on this machine reaches the API, whichever address it listens on. */
function loopbackUrl(app: Awaited<ReturnType<typeof startServer>>) {
  const { address, port } = app.server.address() as AddressInfo;
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '[::1]' : address.includes(':') ? `[${address}]` : address;
  return `http://${host}:${port}`;
}

async function partners(config: Config) {
  const { startSimServer } = await import('../sim/server.ts');
  const sim = await startSimServer({ port: config.simPort, host: process.env.SIM_HOST ?? '127.0.0.1' });
  process.stdout.write(`partner simulators listening on ${sim.url}\n`);
  closeWithGrace({ delay: 5_000, logger: false }, () => sim.close());
}

async function serve(config: Config, workers: number) {
  if (!config.database.url) throw new ConfigError('Invalid configuration: DATABASE_URL must be set for `dabba serve`');
  if (workers > 1 && cluster.isPrimary) {
    return superviseWorkers({ ...config, workers }, [fileURLToPath(import.meta.url), 'serve']);
  }
  const app = await startServer(config);
  // Under `--workers`, the primary counts a worker as started once it listens.
  process.send?.('ready');
  // The drain has its own deadline (stopServer); this one only guards against a stop that hangs.
  closeWithGrace({ delay: config.shutdownTimeoutMs + 5_000, logger: false }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    else app.log.info({ signal }, 'shutting down');
    await stopServer(app, config.shutdownTimeoutMs);
  });
}

async function migrate(config: Config) {
  const { config: ready, embedded } = await database(config);
  const { db } = createDatabase({ url: ready.database.url!, max: 2 });
  try {
    const applied = await migrateToLatest(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await db.destroy();
    await embedded?.close();
  }
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      workers: { type: 'string' },
      scenario: { type: 'string' },
      quick: { type: 'boolean' },
      profile: { type: 'boolean' },
      minutes: { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean' },
      rate: { type: 'string' },
      'time-scale': { type: 'string' },
      orders: { type: 'string' },
      'max-in-flight': { type: 'string' },
      'max-error-rate': { type: 'string' },
      couriers: { type: 'string' },
      customers: { type: 'string' },
    },
  });
  const command = positionals[0];
  // Options that stand for a variable are checked as that variable, with its bounds.
  const flags: Record<string, string | undefined> = { WORKERS: values.workers };
  if (command === 'demo') {
    Object.assign(flags, {
      DEMO_ORDERS_PER_MIN: values.rate,
      DEMO_TIME_SCALE: values['time-scale'],
      DEMO_MINUTES: values.minutes,
      DEMO_MAX_ORDERS: values.orders,
      DEMO_MAX_IN_FLIGHT: values['max-in-flight'],
      DEMO_MAX_ERROR_RATE: values['max-error-rate'],
      DEMO_COURIERS: values.couriers,
      DEMO_CUSTOMERS: values.customers,
    });
  }
  const given = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
  const env = Object.keys(given).length === 0 ? process.env : { ...process.env, ...given };
  // `serve` is production whatever NODE_ENV says: a real JWT_SECRET, never the demo seed.
  const config = loadConfig(env, command === 'serve' ? { mode: 'production' } : {});
  switch (command) {
    case 'up':
      return up(config);
    case 'serve':
      return serve(config, config.workers);
    case 'migrate':
      return migrate(config);
    case 'partners':
      return partners(config);
    case 'demo':
      if (values.url === undefined) return demo(config, values.json === true);
      return (await import('../sim/city/city-command.ts')).runCity(config, values.url, values.json === true);
    case 'bench': {
      const all = ['feed', 'order', 'shed'] as const;
      const scenario = values.scenario;
      if (scenario === 'overhead') {
        const { overhead } = await import('../bench/overhead.ts');
        return overhead(values.quick === true);
      }
      if (scenario === 'track') {
        const { trackBench } = await import('../bench/track.ts');
        process.exitCode = (await trackBench(values.quick === true)) ? 0 : 1;
        return;
      }
      if (scenario === 'dispatch') {
        const { dispatchBench } = await import('../bench/dispatch.ts');
        process.exitCode = (await dispatchBench(values.quick === true)) ? 0 : 1;
        return;
      }
      if (scenario === 'cpu') {
        const { cpuBench, cpuProfiles } = await import('../bench/cpu.ts');
        if (values.profile === true) return cpuProfiles(values.quick === true);
        process.exitCode = (await cpuBench(values.quick === true)) ? 0 : 1;
        return;
      }
      if (scenario === 'export') {
        const { exportBench } = await import('../bench/export.ts');
        process.exitCode = (await exportBench(values.quick === true)) ? 0 : 1;
        return;
      }
      if (scenario === 'soak') {
        const { soak, soakOptions } = await import('../bench/soak.ts');
        const ok = await soak(soakOptions(values.minutes === undefined ? [] : ['--minutes', values.minutes]));
        process.exitCode = ok ? 0 : 1;
        return;
      }
      if (scenario !== undefined && !all.includes(scenario as (typeof all)[number])) {
        throw new ConfigError(`Invalid option: --scenario must be one of ${[...all, 'cpu', 'overhead', 'soak', 'track', 'dispatch', 'export'].join(', ')} (got "${scenario}")`);
      }
      const { bench } = await import('../bench/run.ts');
      await bench({ scenarios: scenario ? [scenario as (typeof all)[number]] : [...all], quick: values.quick === true });
      if (scenario !== undefined) return;
      // The whole benchmark also runs the live scenarios; like the comparisons above it reports its
      // targets rather than failing on them (run a scenario alone for an exit status).
      const { dispatchBench } = await import('../bench/dispatch.ts');
      await dispatchBench(values.quick === true);
      const { trackBench } = await import('../bench/track.ts');
      await trackBench(values.quick === true);
      const { exportBench } = await import('../bench/export.ts');
      await exportBench(values.quick === true);
      const { cpuBench } = await import('../bench/cpu.ts');
      await cpuBench(values.quick === true);
      return;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = command ? 2 : 0;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `${(err as Error).stack ?? err}\n`);
  process.exit(1);
});

