/**
 * The soak's load generator, in a process of its own (like load.ts) so it never shares an event loop
 * with the API it measures. Reads one SoakLoadJob as JSON (argv[2]) and sends a mix of home feeds,
 * orders and reads of those orders, open loop at a fixed rate, for warmupS + durationS seconds.
 * Prints one JSON line per window (SoakWindow) and a last line with the run's totals (SoakDone).
 *
 * The schedule is open-loop.ts's: request i is due at start + i·1000/R ms whatever the server does,
 * and each latency runs from that due time, so a stall is charged to every request it delayed.
 * openLoop() itself is not called: it knows only feeds or orders for one token, lives for one run
 * and reports only at the end, where the soak needs a mixed stream, orders' ids for the reads, one
 * pool for the whole run (so a connection leak would show) and a report every window.
 */
import { Pool } from 'undici';
import * as hdr from 'hdr-histogram-js';
import { type LoadJob, type OutgoingRequest, nextRequest } from './load-requests.ts';

export type Kind = 'feed' | 'order' | 'read';

export interface SoakLoadJob {
  url: string;
  ratePerS: number;
  connections: number;
  warmupS: number;
  durationS: number;
  windowS: number;
  /** Bearer tokens of the customers created up front; orders rotate through them. */
  tokens: string[];
  /** What orders may contain at the start; refreshed from the API's menus while the soak runs. */
  menu: { restaurant_id: string; menu_item_id: string }[];
  center: { lat: number; lng: number };
  /** Share of each kind in the stream; they add up to 1. */
  mix: Record<Kind, number>;
}

/** What the load generator saw in one window: requests that completed in it, by completion time. */
export interface SoakWindow {
  phase: 'window';
  t_s: number;
  sent: number;
  ok: number;
  ok_by_kind: Record<Kind, number>;
  /** Orders refused with 422: a dish that became unavailable (the catalog changes every minute). An answer, not a failure. */
  refused: number;
  /** Every other non-2xx answer by status, and failures ('timeout', 'socket'). */
  errors: Record<string, number>;
  timeouts: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  /** Sent and not yet answered when the window closed. */
  outstanding: number;
}

export interface SoakDone {
  phase: 'done';
  sent: number;
  ok: number;
  refused: number;
  errors: Record<string, number>;
  p50_ms: number | null;
  p99_ms: number | null;
  p999_ms: number | null;
  cpu_ms: number;
}

// As in open-loop.ts: one deadline per request, so a slow answer always ends as a counted timeout.
const REQUEST_TIMEOUT_MS = 30_000;
// Orders the reads pick from: the newest few hundred, so the generator's own memory stays flat.
const RECENT_ORDERS = 500;
// The menu sync (MENU_SYNC_CRON, every minute) replaces the seeded dishes with the catalog's, and the
// catalog takes about one dish in ten off each minute: orders pick from menus at most this old.
const MENU_REFRESH_MS = 30_000;
// As stage.ts's orderFixtures: dishes well under the order cap, so one of any of them is always a valid order.
const MAX_DISH_CENTS = 400_000;

const job = JSON.parse(process.argv[2] ?? '{}') as SoakLoadJob;
if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(job.url)) throw new Error('load targets loopback only');
// Bounded in time whatever happens: the schedule, then at most one request deadline, then a margin.
setTimeout(() => process.exit(3), (job.warmupS + job.durationS) * 1000 + REQUEST_TIMEOUT_MS + 30_000).unref();

const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000, numberOfSignificantValueDigits: 3 });
const total = { hist: histogram(), sent: 0, ok: 0, refused: 0, errors: {} as Record<string, number> };
let win = freshWindow();
let outstanding = 0;
// Off during the warm-up: its requests are sent but not counted.
let recording = false;
const recent: { id: string; token: string }[] = [];
let nextCustomer = 0;
let menu = job.menu;

/** The restaurants' current menus through the API (as an app shows them), available dishes only; out of band, not counted. */
async function refreshMenu() {
  const fresh: SoakLoadJob['menu'] = [];
  for (const restaurantId of new Set(job.menu.map((m) => m.restaurant_id))) {
    const body = (await fetch(`${job.url}/v1/restaurants/${restaurantId}/menu`, { signal: AbortSignal.timeout(10_000) }).then(
      (r) => (r.ok ? r.json() : null),
      () => null,
    )) as { items: { id: string; price_cents: number; is_available: boolean }[] } | null;
    const dishes = (body?.items ?? []).filter((i) => i.is_available && i.price_cents < MAX_DISH_CENTS).slice(0, 3);
    for (const dish of dishes) fresh.push({ restaurant_id: restaurantId, menu_item_id: dish.id });
  }
  // A failed refresh keeps the last menu rather than leaving orders nothing to pick.
  if (fresh.length) menu = fresh;
}

function freshWindow() {
  return { hist: histogram(), sent: 0, ok: 0, refused: 0, okByKind: { feed: 0, order: 0, read: 0 } as Record<Kind, number>, errors: {} as Record<string, number> };
}
const bump = (into: Record<string, number>, key: string) => {
  into[key] = (into[key] ?? 0) + 1;
};

function pickKind(): Kind {
  const r = Math.random();
  if (r < job.mix.feed) return 'feed';
  return r < job.mix.feed + job.mix.order ? 'order' : 'read';
}

function requestFor(kind: Kind): { req: OutgoingRequest; token?: string } {
  const base: LoadJob = { url: job.url, kind: 'feed', connections: job.connections, durationS: job.durationS, menu, center: job.center };
  if (kind === 'feed') return { req: nextRequest(base) };
  const token = job.tokens[nextCustomer++ % job.tokens.length]!;
  if (kind === 'order') return { req: nextRequest({ ...base, kind: 'order', token }), token };
  // A read: mostly one order a customer placed earlier, sometimes a customer's list (newest first).
  const known = Math.random() < 0.75 ? recent[Math.floor(Math.random() * recent.length)] : undefined;
  const headers = { authorization: `Bearer ${known?.token ?? token}` };
  return { req: known ? { method: 'GET', path: `/v1/orders/${known.id}`, headers } : { method: 'GET', path: '/v1/orders?limit=20', headers } };
}

const pool = new Pool(job.url, { connections: job.connections, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
const inFlight = new Set<Promise<void>>();

function send(scheduledAt: number) {
  const kind = pickKind();
  const { req, token } = requestFor(kind);
  outstanding++;
  if (recording) {
    win.sent++;
    total.sent++;
  }
  // Answers count in the window they arrive in, and only once recording has started.
  const failed = (key: string) => {
    if (!recording) return;
    bump(total.errors, key);
    bump(win.errors, key);
  };
  const done: Promise<void> = pool
    .request({ ...req, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    .then(async (res) => {
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      if (ok && kind === 'order') {
        const { id } = (await res.body.json()) as { id: string };
        recent.push({ id, token: token! });
        if (recent.length > RECENT_ORDERS) recent.shift();
      } else await res.body.dump();
      if (kind === 'order' && res.statusCode === 422) {
        if (!recording) return;
        total.refused++;
        win.refused++;
        return;
      }
      if (!ok) return failed(String(res.statusCode));
      if (!recording) return;
      const ms = Math.max(1, Math.round(performance.now() - scheduledAt));
      total.ok++;
      total.hist.recordValue(ms);
      win.ok++;
      win.okByKind[kind]++;
      win.hist.recordValue(ms);
    })
    .catch((err: Error) => failed(err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timeout' : 'socket'))
    .finally(() => {
      outstanding--;
      inFlight.delete(done);
    });
  inFlight.add(done);
}

const pct = (h: hdr.Histogram, p: number) => (h.totalCount ? h.getValueAtPercentile(p) : null);

function emit(tS: number) {
  const line: SoakWindow = {
    phase: 'window',
    t_s: tS,
    sent: win.sent,
    ok: win.ok,
    ok_by_kind: win.okByKind,
    refused: win.refused,
    errors: win.errors,
    timeouts: win.errors.timeout ?? 0,
    p50_ms: pct(win.hist, 50),
    p99_ms: pct(win.hist, 99),
    max_ms: win.hist.totalCount ? win.hist.maxValue : null,
    outstanding,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  win = freshWindow();
}

const intervalMs = 1000 / job.ratePerS;
const count = Math.round(job.ratePerS * (job.warmupS + job.durationS));
const windows = Math.floor(job.durationS / job.windowS);
await refreshMenu();
const refresher = setInterval(() => void refreshMenu(), MENU_REFRESH_MS);
const started = performance.now();
const recordFrom = started + job.warmupS * 1000;
let w = 1;
// Catches up after a late timer instead of drifting (as open-loop.ts does); windows close on the same clock.
for (let i = 0; i < count || w <= windows; ) {
  const now = performance.now();
  while (i < count && started + i * intervalMs <= now) send(started + i++ * intervalMs);
  if (!recording && now >= recordFrom) {
    recording = true;
    win = freshWindow();
    process.stdout.write(`${JSON.stringify({ phase: 'recording' })}\n`);
  }
  while (w <= windows && now >= recordFrom + w * job.windowS * 1000) emit(w++ * job.windowS);
  const nextSend = i < count ? started + i * intervalMs : Number.POSITIVE_INFINITY;
  const nextWindow = w <= windows ? recordFrom + w * job.windowS * 1000 : Number.POSITIVE_INFINITY;
  if (i >= count && w > windows) break;
  const wake = Math.min(nextSend, nextWindow, recording ? Number.POSITIVE_INFINITY : recordFrom);
  await new Promise((r) => setTimeout(r, Math.max(0, wake - performance.now())));
}
clearInterval(refresher);
await Promise.all(inFlight);
await pool.close();
const usage = process.cpuUsage();
const done: SoakDone = {
  phase: 'done',
  sent: total.sent,
  ok: total.ok,
  refused: total.refused,
  errors: total.errors,
  p50_ms: pct(total.hist, 50),
  p99_ms: pct(total.hist, 99),
  p999_ms: pct(total.hist, 99.9),
  cpu_ms: (usage.user + usage.system) / 1000,
};
process.stdout.write(`${JSON.stringify(done)}\n`);
