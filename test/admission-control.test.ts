import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { CENTER, type TestContext, createRestaurant, createUser, eventually, orderBody, setup } from './helper.ts';
import { find, parsePrometheus } from './ops.helper.ts';

const FEED_LIMIT = 2;
const RETRY_AFTER = 3;
// Every other /v1 route may have one request in flight, so POST /v1/orders shows the default limit.
// No waiting here: what is past the limit is refused at once (the waiting apps below).
const ctx = await setup({
  env: {
    FEED_MAX_IN_FLIGHT: String(FEED_LIMIT),
    ADMISSION_MAX_IN_FLIGHT: '1',
    ADMISSION_MAX_WAIT_MS: '0',
    SHED_RETRY_AFTER_SECONDS: String(RETRY_AFTER),
  },
});
const patient = await setup({ env: { FEED_MAX_IN_FLIGHT: String(FEED_LIMIT), ADMISSION_MAX_WAIT_MS: '10000' } });
const hasty = await setup({ env: { FEED_MAX_IN_FLIGHT: String(FEED_LIMIT), ADMISSION_MAX_WAIT_MS: '100', ADMISSION_MAX_WAITING: '1' } });
const off = await setup({ env: { FEED_MAX_IN_FLIGHT: String(FEED_LIMIT), ADMISSION_MAX_IN_FLIGHT: '0' } });
// One feed at a time, a 50 ms wait, and two refusals a second (one at once, then one every 500 ms).
const budgeted = await setup({ env: { FEED_MAX_IN_FLIGHT: '1', ADMISSION_MAX_WAIT_MS: '50', ADMISSION_REFUSALS_PER_SECOND: '2' } });
await ctx.app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}`;

const FEED = `/v1/feed?lat=${CENTER.lat}&lng=${CENTER.lng}`;
const FEED_ROUTE = 'GET /v1/feed';
const ORDERS_ROUTE = 'POST /v1/orders';

/** A scrape of /metrics, summed over the samples whose labels include `labels`. */
async function metric(c: TestContext, name: string, labels: Record<string, string> = {}) {
  const res = await c.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200);
  return find(parsePrometheus(res.body), name, labels).reduce((sum, s) => sum + s.value, 0);
}
const admitted = (route: string, c = ctx) => metric(c, 'dabba_http_admitted_in_flight', { route });
const waiting = (route: string, c: TestContext) => metric(c, 'dabba_http_admission_waiting', { route });
const shedForConcurrency = (c = ctx) => metric(c, 'dabba_http_shed_total', { reason: 'concurrency' });
/** Exactly 0, so a count that went below zero fails as surely as one that leaked. */
const drained = (route: string, c = ctx) => eventually(`${route} back to 0 admitted`, async () => (await admitted(route, c)) === 0);

const feed = (c = ctx, url = FEED) => c.app.inject({ method: 'GET', url });

/** A restaurant near CENTER, so every feed there waits on the catalog. */
async function feedWorld(c: TestContext) {
  await createRestaurant(c, await createUser(c, 'restaurant'));
  await c.sim.fast();
  await c.sim.set('catalog', { median_ms: 300, p99_ms: 300 });
}

describe('admission control', () => {
  it('answers only FEED_MAX_IN_FLIGHT of 6 concurrent feeds and refuses the rest at once with 503 problem+json', async () => {
    await feedWorld(ctx);
    const shedBefore = await shedForConcurrency();

    const answers = await Promise.all(Array.from({ length: 6 }, () => feed()));

    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 200, 503, 503, 503, 503]);
    for (const ok of answers.filter((a) => a.statusCode === 200)) {
      assert.ok((ok.json() as { items: unknown[] }).items.length > 0, 'an admitted feed called the catalog');
    }
    for (const refused of answers.filter((a) => a.statusCode === 503)) {
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      assert.equal(refused.headers['retry-after'], String(RETRY_AFTER));
      const problem = refused.json() as Record<string, unknown>;
      assert.equal(problem.type, 'https://dabba.dev/problems/overloaded');
      assert.equal(problem.status, 503);
      assert.match(String(problem.detail), /GET \/v1\/feed has 2 requests in flight/);
    }
    assert.equal((await shedForConcurrency()) - shedBefore, 4);
    // Refused before observability: counted above, but not a served request with a latency sample.
    const refusedSamples = await metric(ctx, 'dabba_http_request_duration_seconds_count', { route: '/v1/feed', status_code: '503' });
    assert.equal(refusedSamples, 0);
  });

  it('shows admitted feeds in dabba_http_admitted_in_flight and admits new ones once they finish', async () => {
    await feedWorld(ctx);
    await drained(FEED_ROUTE);
    const running = Promise.all([feed(), feed()]);
    await eventually('two feeds admitted', async () => (await admitted(FEED_ROUTE)) === FEED_LIMIT);
    assert.deepEqual((await running).map((a) => a.statusCode), [200, 200]);

    await drained(FEED_ROUTE);
    const again = await Promise.all([feed(), feed()]);
    assert.deepEqual(again.map((a) => a.statusCode), [200, 200]);
    await drained(FEED_ROUTE);
  });

  it('keeps the slot of a checkout whose customer hung up until checkout settles, then gives it back', async () => {
    const customer = await createUser(ctx, 'customer');
    const restaurant = await createRestaurant(ctx, await createUser(ctx, 'restaurant'), { pos: true });
    await ctx.sim.fast();
    // Checkout outlives the client by far: payment and POS take 1.2 s (under their 1.5 s attempt timeout).
    await ctx.sim.set('payments', { median_ms: 1200, p99_ms: 1200 });
    await ctx.sim.set('pos', { median_ms: 1200, p99_ms: 1200 });
    await drained(ORDERS_ROUTE);
    const key = randomUUID();
    const hangUp = new AbortController();
    const sent = fetch(`${base}/v1/orders`, {
      method: 'POST',
      headers: { ...customer.auth, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(orderBody(restaurant)),
      signal: hangUp.signal,
    });
    const status = async () =>
      (await ctx.sql.query<{ status: string }>('SELECT status FROM orders WHERE idempotency_key = $1', [key])).rows[0]?.status;
    await eventually('checkout under way', async () => (await status()) === 'placed');
    hangUp.abort();
    await assert.rejects(sent, { name: 'AbortError' });
    // Read from the gauge itself: a scrape would count as a request in flight.
    const inFlight = async () => (await ctx.app.metrics.httpInFlight.get()).values[0]?.value;
    await eventually('the server to see the hang-up', async () => (await inFlight()) === 0);

    const newOrder = () =>
      ctx.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...customer.auth, 'idempotency-key': randomUUID() }, payload: orderBody(restaurant) });
    assert.equal(await status(), 'placed', 'checkout is still running');
    assert.equal(await admitted(ORDERS_ROUTE), 1, 'the abandoned checkout still holds its slot');
    const second = await newOrder();
    assert.equal(second.statusCode, 503, second.body);
    assert.match(String((second.json() as { detail: string }).detail), /POST \/v1\/orders has 1 request in flight/);

    await drained(ORDERS_ROUTE);
    assert.equal(await status(), 'confirmed', 'the slot came back only once checkout had decided the order');
    await ctx.sim.fast();
    const next = await newOrder();
    assert.equal(next.statusCode, 201, next.body);
    await drained(ORDERS_ROUTE);
  });

  it('gives back the slot of a feed whose client hung up once its handler has stopped', async () => {
    await feedWorld(ctx);
    // The catalog never answers: only the hang-up (or the feed's deadline) ends the handler.
    await ctx.sim.set('catalog', { mode: 'hang' });
    await drained(FEED_ROUTE);
    const hangUp = new AbortController();
    const sent = fetch(`${base}${FEED}`, { signal: hangUp.signal });
    await eventually('the feed admitted', async () => (await admitted(FEED_ROUTE)) === 1);
    hangUp.abort();
    await assert.rejects(sent, { name: 'AbortError' });
    await drained(FEED_ROUTE);
    await ctx.sim.fast();
    const again = await Promise.all([feed(), feed()]);
    assert.deepEqual(again.map((a) => a.statusCode), [200, 200]);
  });

  it('admits a checkout only once its body is in: one still sending holds no slot, and leaves none when its customer hangs up', async () => {
    const customer = await createUser(ctx, 'customer');
    await drained(ORDERS_ROUTE);
    const hangUp = new AbortController();
    // Half a body that never ends: the server has the request's headers, and waits for the rest.
    const body = new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"restaurant_id":')) });
    const sent = fetch(`${base}/v1/orders`, {
      method: 'POST',
      headers: { ...customer.auth, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body,
      duplex: 'half',
      signal: hangUp.signal,
    } as RequestInit);
    sent.catch(() => {}); // awaited below; handled here too, should an assertion fail first
    try {
      // Read from the gauge itself: a scrape would count as a request in flight.
      const inFlight = async () => (await ctx.app.metrics.httpInFlight.get()).values[0]?.value;
      await eventually('the server to have the checkout’s headers', async () => (await inFlight()) === 1);
      assert.equal(await admitted(ORDERS_ROUTE), 0, 'a checkout whose body is still coming holds no slot');
      // The route's one slot is free: a checkout whose body is all there is admitted (then refused as invalid), not refused with 503.
      const other = await ctx.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...customer.auth, 'idempotency-key': randomUUID() }, payload: { items: 'none' } });
      assert.equal(other.statusCode, 400, other.body);
    } finally {
      hangUp.abort();
    }
    await assert.rejects(sent, { name: 'AbortError' });
    await drained(ORDERS_ROUTE);
  });

  it('gives back the slots of requests refused by validation or authentication', async () => {
    const customer = await createUser(ctx, 'customer');
    // One after another, more than the limit: a slot kept by any of them would turn the next into a 503.
    for (const query of ['lat=abc&lng=72.8', 'lat=91&lng=72.8', 'lat=19.07', '', 'lat=19.07&lng=-181']) {
      const res = await feed(ctx, `/v1/feed?${query}`);
      assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
    }
    for (const headers of [{}, { authorization: 'Bearer not.a.token' }, customer.auth, customer.auth]) {
      const res = await ctx.app.inject({ method: 'POST', url: '/v1/orders', headers, payload: { items: 'none' } });
      assert.ok(res.statusCode === 400 || res.statusCode === 401, `${res.statusCode}: ${res.body}`);
    }
    await drained(FEED_ROUTE);
    await drained(ORDERS_ROUTE);
  });

  it('never limits /healthz, /readyz, /metrics or /openapi.json', async () => {
    const paths = ['/healthz', '/readyz', '/metrics', '/openapi.json'];
    const answers = await Promise.all(paths.flatMap((url) => Array.from({ length: 6 }, () => ctx.app.inject({ method: 'GET', url }))));
    assert.deepEqual(answers.map((a) => a.statusCode), answers.map(() => 200));
    const res = await ctx.app.inject({ method: 'GET', url: '/metrics' });
    const routes = find(parsePrometheus(res.body), 'dabba_http_admitted_in_flight').map((s) => s.labels.route ?? '');
    assert.ok(routes.includes(FEED_ROUTE) && routes.includes(ORDERS_ROUTE), routes.join(', '));
    for (const route of routes) assert.match(route, /^[A-Z]+ \/v1\//);
  });

  it('limits nothing when ADMISSION_MAX_IN_FLIGHT=0', async () => {
    await feedWorld(off);
    const answers = await Promise.all(Array.from({ length: 6 }, () => feed(off)));
    assert.deepEqual(answers.map((a) => a.statusCode), answers.map(() => 200));
    assert.equal(await shedForConcurrency(off), 0);
  });

  it('lets feeds past the limit wait for a slot, and answers all of them once slots free, newest first', async () => {
    await feedWorld(patient);
    const shedBefore = await shedForConcurrency(patient);
    const answers = Promise.all(Array.from({ length: 6 }, () => feed(patient)));
    await eventually('four feeds waiting', async () => (await waiting(FEED_ROUTE, patient)) === 4);
    assert.equal(await admitted(FEED_ROUTE, patient), FEED_LIMIT);
    assert.deepEqual((await answers).map((a) => a.statusCode), [200, 200, 200, 200, 200, 200]);
    assert.equal(await shedForConcurrency(patient), shedBefore, 'nobody was refused');
    assert.equal(await waiting(FEED_ROUTE, patient), 0);
    await drained(FEED_ROUTE, patient);
  });

  it('refuses a feed whose wait ran out, and refuses at once past ADMISSION_MAX_WAITING', async () => {
    await feedWorld(hasty);
    // Admitted feeds take 1.5 s; the wait is 100 ms, so every refusal comes before any feed is answered.
    await hasty.sim.set('catalog', { median_ms: 1500, p99_ms: 1500 });
    const shedBefore = await shedForConcurrency(hasty);
    const finished: number[] = [];
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await feed(hasty);
        finished.push(res.statusCode);
        return res.statusCode;
      }),
    );
    assert.deepEqual([...answers].sort(), [200, 200, 503, 503, 503, 503]);
    // Three found the wait full (one place) and the one that waited ran out of time: none was admitted later.
    assert.deepEqual(finished, [503, 503, 503, 503, 200, 200]);
    assert.equal((await shedForConcurrency(hasty)) - shedBefore, 4);
    assert.equal(await waiting(FEED_ROUTE, hasty), 0);
    await drained(FEED_ROUTE, hasty);
  });

  it('refuses no more than ADMISSION_REFUSALS_PER_SECOND: past it a wait that ran out goes on, and may still end in a slot', async () => {
    await feedWorld(budgeted);
    // An admitted feed runs to its deadline (800 ms): the waits (50 ms) run out long before a slot frees.
    await budgeted.sim.set('catalog', { median_ms: 1500, p99_ms: 1500 });
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await feed(budgeted);
        return { status: res.statusCode, at: performance.now() - started };
      }),
    );
    const refusedAt = answers.filter((a) => a.status === 503).map((a) => a.at).sort((a, b) => a - b);
    assert.ok(refusedAt.length >= 2, `statuses ${answers.map((a) => a.status).join(',')}`);
    assert.ok(answers.filter((a) => a.status === 200).length >= 2, 'a wait past its end was still handed a slot');
    // The budget refills by the clock: two refusals a second are never closer than 500 ms.
    for (let i = 1; i < refusedAt.length; i++) {
      assert.ok(refusedAt[i]! - refusedAt[i - 1]! >= 450, `refusals at ${refusedAt.map(Math.round).join(', ')} ms`);
    }
    await drained(FEED_ROUTE, budgeted);
  });
});
