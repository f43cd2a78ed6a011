import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Browser, Locator, Page } from 'playwright-core';
import { DEMO_PASSWORD } from '../src/db/seed/demo-city.ts';
import { type DemoCity, chromiumUnavailable, launchChromium, startDemoCity } from './browser-city.ts';
import { createTestDatabase, testConfig } from './helper.ts';

/** Where the tests leave their screenshots (gitignored): look at them after a failure. */
export const SCREENSHOTS = fileURLToPath(new URL('../test-output/screenshots/', import.meta.url));

/**
 * The options of a browser suite's describe(): skipped, saying why, on a machine without Chromium; but
 * CI (.ci/run) installs it and sets DABBA_TEST_REQUIRE_SERVICES, and there a missing browser is a
 * failure (startBrowserCity throws the reason), as a missing Redis or NATS is.
 */
export async function browserSuite(): Promise<{ skip?: string }> {
  const missing = await chromiumUnavailable();
  return missing && !process.env.DABBA_TEST_REQUIRE_SERVICES ? { skip: missing } : {};
}

export interface BrowserCity extends DemoCity {
  browser: Browser;
  /** The test's own connection to the city's database, for what no API shows (who made each move). */
  sql: pg.Pool;
  /** A new person: a browser context of their own (their own sessionStorage, so their own sign-in), one tab. */
  person(viewport?: { width: number; height: number }): Promise<Page>;
  /** Opens `pagePath` and signs in through its form, as a person types it. */
  signIn(page: Page, pagePath: string, email: string): Promise<void>;
  /** A bearer token for `email`, through the API. */
  token(email: string): Promise<string>;
  /** A JSON request to the API; `at` is when its answer arrived (epoch ms). */
  call<T>(method: 'GET' | 'POST', url: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: T; at: number }>;
  /** Saves a screenshot of the page under SCREENSHOTS; returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
}

/**
 * A fresh database, the demo city alive on it (×120: an order is delivered in well under a minute) and
 * Chromium. Close it in `after`: the browser, the city, the API, the simulators, then the database.
 */
export async function startBrowserCity(): Promise<BrowserCity> {
  const missing = await chromiumUnavailable();
  if (missing) throw new Error(missing);
  await mkdir(SCREENSHOTS, { recursive: true });
  const db = await createTestDatabase();
  const browser = await launchChromium().catch(async (err: unknown) => {
    await db.drop();
    throw err;
  });
  let demo: DemoCity;
  try {
    demo = await startDemoCity({
      config: (env) => testConfig(db.url, env),
      timeScale: 120,
      ordersPerMinute: 20,
      couriers: 40,
      customers: 8,
      maxInFlight: 15,
    });
  } catch (err) {
    await browser.close();
    await db.drop();
    throw err;
  }
  const sql = new pg.Pool({ connectionString: db.url, max: 2 });
  sql.on('error', () => {});

  const call: BrowserCity['call'] = async (method, url, opts = {}) => {
    const res = await fetch(`${demo.base}${url}`, {
      method,
      headers: {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...opts.headers,
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const at = Date.now();
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as never, at };
  };

  return {
    ...demo,
    browser,
    sql,
    call,
    async person(viewport = { width: 1280, height: 800 }) {
      const context = await browser.newContext({ viewport, baseURL: demo.base });
      return context.newPage();
    },
    async signIn(page, pagePath, email) {
      await page.goto(pagePath);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(DEMO_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
    },
    async token(email) {
      const res = await call<{ token: string }>('POST', '/v1/auth/login', { body: { email, password: DEMO_PASSWORD } });
      assert.equal(res.status, 200, `signing in as ${email}`);
      return res.body.token;
    },
    async screenshot(page, name) {
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      await browser.close();
      await demo.close();
      await sql.end();
      await db.drop();
    },
  };
}

/**
 * Form controls and buttons on the page whose accessible name, as Chromium's accessibility tree
 * computes it (labels, aria-label, legends: what a screen reader says), is empty.
 * @see https://chromedevtools.github.io/devtools-protocol/tot/Accessibility/#method-getPartialAXTree
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', {
      nodeId: root.nodeId,
      selector: 'input:not([type=hidden]), select, textarea, button',
    });
    const unnamed: string[] = [];
    for (const nodeId of nodeIds) {
      const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
      const node = nodes[0];
      const name = String(node?.name?.value ?? '').trim();
      if (!node?.ignored && name === '') unnamed.push((await cdp.send('DOM.getOuterHTML', { nodeId })).outerHTML.slice(0, 160));
    }
    return unnamed;
  } finally {
    await cdp.detach();
  }
}

/** The little of a page's globals the checks below touch, typed here: the project's types carry no DOM. */
interface InPage {
  __focused: unknown[];
  document: {
    scrollingElement: { scrollWidth: number };
    activeElement: { blur(): void } | null;
    addEventListener(type: 'focusin', listener: (e: { target: unknown }) => void): void;
  };
}

/** The page's width as laid out: wider than the viewport means a horizontal scroll bar. */
export const scrollWidth = (page: Page) => page.evaluate(() => (globalThis as unknown as InPage).document.scrollingElement.scrollWidth);

/**
 * Presses Tab from the top of the page until every one of `targets` has had keyboard focus, or
 * `maxTabs` presses; returns the targets focus never reached (by their index).
 */
export async function unreachableByTab(page: Page, targets: Locator[], maxTabs = 60): Promise<number[]> {
  await page.evaluate(() => {
    const g = globalThis as unknown as InPage;
    g.__focused = [];
    g.document.addEventListener('focusin', (e) => g.__focused.push(e.target));
    g.document.activeElement?.blur();
  });
  const handles = await Promise.all(targets.map((t) => t.elementHandle()));
  const reached = (i: number) => handles[i]!.evaluate((el) => (globalThis as unknown as InPage).__focused.includes(el));
  let missing = targets.map((_, i) => i);
  for (let n = 0; n < maxTabs && missing.length > 0; n++) {
    await page.keyboard.press('Tab');
    const still: number[] = [];
    for (const i of missing) if (!(await reached(i))) still.push(i);
    missing = still;
  }
  return missing;
}
