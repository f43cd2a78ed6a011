/**
 * The demo city alive behind a real browser: the partner simulators, the API on a loopback port with
 * the demo city seeded and the built pages served, the city simulation driving it, and Debian's
 * Chromium. Shared by the browser tests (test/browser.helper.ts) and `npm run screenshot`, so neither
 * depends on the test runner's environment.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type App, build } from '../src/app.ts';
import type { Config } from '../src/config.ts';
import { type CitySimulation, startCitySimulation } from '../sim/city/city-simulation.ts';
import { type SimServer, startSimServer } from '../sim/server.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * This machine's network is closed: no sandbox (it runs as root in a container), no GPU, and nothing
 * that would phone home (updates, sync, field trials, the first-run page).
 */
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Why no browser can be launched here, or undefined when Chromium is where it should be. */
export async function chromiumUnavailable(): Promise<string | undefined> {
  const found = await access(CHROMIUM_PATH, constants.X_OK).then(
    () => true,
    () => false,
  );
  return found ? undefined : `Chromium is not at ${CHROMIUM_PATH} (CHROMIUM_PATH): install Debian's chromium to run the browser tests (see .ci/run)`;
}

/** Debian's Chromium through playwright-core: `npx playwright install` cannot download here, and need not. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: LAUNCH_ARGS });
}

export interface DemoCityOptions {
  /** The API's configuration from these variables on top of the caller's own (a database, log level…). */
  config: (env: Record<string, string>) => Config;
  /** City delays run this many times faster than life (sim/city): 120 makes a 20-minute order about 10 s. */
  timeScale: number;
  ordersPerMinute: number;
  couriers: number;
  customers: number;
  maxInFlight?: number;
  seed?: number;
}

export interface DemoCity {
  /** Where the API and the pages answer: http://127.0.0.1:<port>. */
  base: string;
  app: App;
  partners: SimServer;
  city: CitySimulation;
  /** The city first, so its couriers go off shift while the API still answers; then the API and the simulators. */
  close(): Promise<void>;
}

/** The fastest a courier may move, and so the ceiling the city keeps its couriers under (a fifth below it). */
const MAX_SPEED_KMH = 1_000;

/**
 * Starts the partner simulators and the API (it migrates and seeds the demo city), lists every
 * restaurant's menu in the catalog simulator with prices held still (so a menu shown on a page is the
 * price checkout charges for the whole run), syncs once, then starts the city and waits until all its
 * people are signed in and on shift.
 */
export async function startDemoCity(opts: DemoCityOptions): Promise<DemoCity> {
  const partners = await startSimServer({ port: 0 });
  const base = partners.url;
  let app: App | undefined;
  try {
    app = await build(
      opts.config({
        PAYMENTS_URL: `${base}/payments`,
        POS_URL: `${base}/pos`,
        ETA_URL: `${base}/eta`,
        NOTIFY_URL: `${base}/notify`,
        CATALOG_URL: `${base}/catalog`,
        SEED_DEMO: 'true',
        // The catalog above is the menus' truth for the whole run: no scheduled sync needed.
        MENU_SYNC_CRON: 'off',
        // A city at this time scale moves fast: its couriers' fixes, and dispatch's batches, keep up.
        COURIER_MAX_SPEED_KMH: String(MAX_SPEED_KMH),
        DISPATCH_INTERVAL_MS: '1000',
        JOB_POLL_INTERVAL_MS: '500',
      }),
    );
    await app.ready();
    const pages = path.join(app.config.web.distDir, 'index.html');
    if (!(await access(pages).then(() => true, () => false))) throw new Error(`the pages are not built (no ${pages}): run \`npm run build:web\``);
    await holdMenus(base, app);
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await app?.close();
    await partners.close();
    throw err;
  }
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const city = startCitySimulation({
    baseUrl: url,
    timeScale: opts.timeScale,
    ordersPerMinute: opts.ordersPerMinute,
    couriers: opts.couriers,
    customers: opts.customers,
    maxInFlight: opts.maxInFlight ?? 20,
    maxSpeedKmh: MAX_SPEED_KMH,
    seed: opts.seed ?? 12,
  });
  const started = app;
  const close = async () => {
    await city.close();
    await started.close();
    await partners.close();
  };
  try {
    await city.ready;
  } catch (err) {
    await close();
    throw err;
  }
  return { base: url, app: started, partners, city, close };
}

/** Each restaurant's menu, as the database holds it, into the catalog simulator, prices still; then one sync. */
async function holdMenus(simBase: string, app: App) {
  const menus = await app.services.menuSync.catalogExport();
  await Promise.all(
    menus.map(async ({ restaurantId, items }) => {
      const res = await fetch(`${simBase}/_sim/catalog/restaurants/${restaurantId}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items, drift: false }),
      });
      if (!res.ok) throw new Error(`catalog simulator: ${res.status} ${await res.text()}`);
    }),
  );
  await app.services.menuSync.syncAll();
}
