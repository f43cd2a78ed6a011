import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { CENTER, eventually, setup } from './helper.ts';
import { parsePrometheus, sleep, value } from './ops.helper.ts';

const RETRY_AFTER = 3;
const ctx = await setup({
  env: { SHED_MAX_LOOP_DELAY_MS: '30', SHED_RETRY_AFTER_SECONDS: String(RETRY_AFTER) },
});
// Waits for a slot up to 5 s: long enough to outlast a pressure.
const patient = await setup({ env: { SHED_MAX_LOOP_DELAY_MS: '30', ADMISSION_MAX_WAIT_MS: '5000' } });
// The apps run in this process, so a busy-wait here is load on their event loop.
await ctx.app.listen({ port: 0, host: '127.0.0.1' });
await patient.app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`;
const patientBase = `http://127.0.0.1:${(patient.app.server.address() as { port: number }).port}`;
const dispatcher = new Agent({ connections: 8, headersTimeout: 10_000, bodyTimeout: 10_000 });
after(() => dispatcher.close());

const FEED = `/v1/feed?lat=${CENTER.lat}&lng=${CENTER.lng}`;

interface Answer {
  path: string;
  status: number;
  headers: Headers;
  body: string;
  ms: number;
}

async function get(path: string, at = base): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(`${at}${path}`, { dispatcher, signal: AbortSignal.timeout(10_000) } as RequestInit);
  return { path, status: res.status, headers: res.headers, body: await res.text(), ms: performance.now() - started };
}

/** Holds the loop for `busyMs` out of every `busyMs + gapMs`: a process with more work than time. */
function pressure(busyMs: number, gapMs: number) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const cycle = () => {
    if (stopped) return;
    const end = performance.now() + busyMs;
    while (performance.now() < end);
    timer = setTimeout(cycle, gapMs);
  };
  timer = setTimeout(cycle, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

describe('load shedding', () => {
  const during: Answer[] = [];

  before(async () => {
    // Start-up itself (building the app, the test database) lags the loop: wait for a calm sample.
    await eventually('a normal answer before the pressure', async () => (await get(FEED)).status === 200, 5_000);
    const stop = pressure(90, 15);
    const safety = setTimeout(stop, 5_000);
    try {
      await sleep(400); // at least one 250 ms sample under pressure
      const until = performance.now() + 1_500;
      while (performance.now() < until) {
        const batch = await Promise.all([get(FEED), get(FEED), get('/healthz'), get('/metrics'), get('/openapi.json')]);
        during.push(...batch);
      }
    } finally {
      stop();
      clearTimeout(safety);
    }
  });

  it('refuses new API requests with 503, Retry-After and a problem body while the event loop lags', () => {
    const feed = during.filter((a) => a.path === FEED);
    assert.ok(feed.length >= 4, `${feed.length} feed requests sent under pressure`);
    const shed = feed.filter((a) => a.status === 503);
    assert.ok(shed.length > 0, `statuses under pressure: ${feed.map((a) => a.status).join(',')}`);
    for (const a of feed) assert.ok(a.status === 200 || a.status === 503, `unexpected ${a.status}`);
    for (const a of shed) {
      assert.match(a.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(a.headers.get('retry-after'), String(RETRY_AFTER));
      const problem = JSON.parse(a.body) as Record<string, unknown>;
      assert.equal(problem.status, 503);
      assert.equal(problem.type, 'https://dabba.dev/problems/overloaded');
      assert.equal(typeof problem.title, 'string');
      assert.match(String(problem.detail), /overloaded \(event-loop delay [\d.]+ ms\)/);
      // The feed is under admission control: past the loop-delay limit it admits no one, and a new
      // request waits (ADMISSION_MAX_WAIT_MS, 1 s, at least three quarters of it) before its 503.
      assert.ok(a.ms >= 700, `a feed refused after ${Math.round(a.ms)} ms, not after a wait`);
    }
  });

  it('refuses routes outside admission control at once', () => {
    const refused = during.filter((a) => a.path === '/openapi.json' && a.status === 503);
    assert.ok(refused.length > 0, 'the API description was shed too');
    for (const a of refused) assert.ok(a.ms < 700, `/openapi.json refused after ${Math.round(a.ms)} ms`);
  });

  it('keeps answering /healthz and /metrics while shedding', () => {
    const exempt = during.filter((a) => a.path === '/healthz' || a.path === '/metrics');
    assert.ok(exempt.length >= 4);
    for (const a of exempt) assert.equal(a.status, 200, `${a.path} answered ${a.status} under pressure`);
  });

  it('counts shed requests by reason', async () => {
    const samples = parsePrometheus((await get('/metrics')).body);
    const shed = value(samples, 'dabba_http_shed_total', { reason: 'eventLoopDelay' });
    const refused = during.filter((a) => a.status === 503).length;
    assert.ok(shed >= refused && shed > 0, `dabba_http_shed_total ${shed}, 503s seen ${refused}`);
  });

  it('serves normally again about a second after the pressure ends', async () => {
    await sleep(1_000);
    const recovered = await Promise.all(Array.from({ length: 6 }, () => get(FEED)));
    assert.deepEqual(
      recovered.map((a) => a.status),
      recovered.map(() => 200),
    );
  });
});

describe('load shedding on a route under admission control', () => {
  it('holds a feed that arrives while the loop lags, and serves it once the pressure is over, within its wait', async () => {
    await eventually('a normal answer before the pressure', async () => (await get(FEED, patientBase)).status === 200, 5_000);
    // Heavier than above: the mean delay of every sample is far past the limit, so the feed surely arrives under pressure.
    const stop = pressure(150, 10);
    const safety = setTimeout(stop, 5_000);
    let answer: Promise<Answer>;
    try {
      await sleep(400); // at least one 250 ms sample under pressure
      answer = get(FEED, patientBase);
      await eventually('the feed waits for a slot', async () => {
        const samples = parsePrometheus((await get('/metrics', patientBase)).body);
        return value(samples, 'dabba_http_admission_waiting', { route: 'GET /v1/feed' }) === 1;
      }, 3_000);
    } finally {
      stop();
      clearTimeout(safety);
    }
    const served = await answer;
    assert.equal(served.status, 200, `answered ${served.status}: ${served.body}`);
    assert.ok(served.ms < 3_500, `served after ${Math.round(served.ms)} ms: by the end of the pressure, not the end of its wait`);
  });
});
