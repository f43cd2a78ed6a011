/**
 * `npm run screenshot`: the ops dashboard of the demo city alive, as docs/dashboard.png (the README's
 * picture), 1280×800 in Debian's Chromium. Everything on this machine: a fresh database (DATABASE_URL's
 * server, or an embedded PostgreSQL in a temporary directory), the partner simulators, the API and the
 * city simulation, all stopped when the picture is taken.
 *
 *   npm run screenshot -- [--out docs/dashboard.png] [--wait-seconds 40]
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from '../src/db/seed/demo-city.ts';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { chromiumUnavailable, launchChromium, startDemoCity } from '../test/browser-city.ts';
import { freePort } from './processes.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/dashboard.png' },
    // Long enough for orders in flight on every leg and half a minute of the server's charts.
    'wait-seconds': { type: 'string', default: '40' },
  },
});
const waitMs = Number(values['wait-seconds']) * 1_000;
if (!Number.isFinite(waitMs) || waitMs < 0) throw new Error(`--wait-seconds must be a number of seconds (got "${values['wait-seconds']}")`);
const missing = await chromiumUnavailable();
if (missing) throw new Error(missing);

const SCREENSHOT_DB = 'dabba_screenshot';

/** A fresh database of its own on DATABASE_URL's server, or an embedded PostgreSQL in a temporary directory. */
async function database(): Promise<{ url: string; close(): Promise<void> }> {
  const given = process.env.DATABASE_URL;
  if (given) {
    const admin = new pg.Client({ connectionString: given });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${SCREENSHOT_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${SCREENSHOT_DB}`);
    const url = new URL(given);
    url.pathname = `/${SCREENSHOT_DB}`;
    return {
      url: url.toString(),
      close: async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${SCREENSHOT_DB} WITH (FORCE)`);
        await admin.end();
      },
    };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'dabba-screenshot-pg-'));
  const embedded = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), database: SCREENSHOT_DB });
  return {
    url: embedded.url,
    close: async () => {
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const db = await database();
try {
  const city = await startDemoCity({
    config: (env) =>
      loadConfig({
        DATABASE_URL: db.url,
        LOG_LEVEL: 'error',
        LOG_FORMAT: 'json',
        // Every person of the city signs in from this one address at once.
        LOGIN_RATE_PER_MINUTE: '0',
        LOGIN_ACCOUNT_RATE_PER_MINUTE: '0',
        ...env,
      }),
    timeScale: 60,
    ordersPerMinute: 40,
    couriers: 60,
    customers: 20,
    maxInFlight: 30,
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, baseURL: city.base });
    await page.goto('/ops');
    await page.getByLabel('Email').fill(DEMO_ACCOUNTS.admin);
    await page.getByLabel('Password').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('svg.map g[data-kind="restaurant"]').first().waitFor();
    process.stdout.write(`the city is running at ${city.base}; the picture in ${waitMs / 1_000} s …\n`);
    await sleep(waitMs);
    await mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
    await page.screenshot({ path: values.out });
    const { orders, errors } = city.city.report();
    process.stdout.write(`${values.out} written: ${orders.placed} orders placed, ${orders.delivered} delivered, ${orders.in_flight} in flight, ${errors.total} errors\n`);
  } finally {
    await browser.close();
    await city.close();
  }
} finally {
  await db.close();
}
