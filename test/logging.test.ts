import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { createRestaurant, createUser, eventually, orderBody, setup } from './helper.ts';
import { type LogLine, LogCollector, sleep } from './ops.helper.ts';

const logStream = new LogCollector();
const ctx = await setup({ logStream, env: { LOG_LEVEL: 'info' } });

const PASSWORD = `Sesame-${randomUUID().slice(0, 12)}`;
const WRONG_PASSWORD = `Wrong-${randomUUID().slice(0, 12)}`;
const FORGED_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmb3JnZWQifQ.c2lnbmF0dXJlLWZvcmdlZC14eXo';

interface Sent {
  reqId: string;
  method: string;
  route: string;
  status: number;
}
const sent: Sent[] = [];
const tokens: string[] = [];
const authorizationValues: string[] = [];
let requestLines: LogLine[] = [];
let generatedIdLine: LogLine | undefined;
let invalidIdLine: LogLine | undefined;

async function call(opts: { method: 'GET' | 'POST'; url: string; route: string; reqId: string; headers?: Record<string, string>; payload?: object }) {
  const res = await ctx.app.inject({
    method: opts.method,
    url: opts.url,
    headers: { 'x-request-id': opts.reqId, ...opts.headers },
    payload: opts.payload,
  });
  sent.push({ reqId: opts.reqId, method: opts.method, route: opts.route, status: res.statusCode });
  return res;
}

describe('request logs', () => {
  before(async () => {
    const run = randomUUID().slice(0, 8);
    const email = `logger-${run}@dabba.test`;
    const register = await call({
      method: 'POST',
      url: '/v1/auth/register',
      route: '/v1/auth/register',
      reqId: `register-${run}`,
      payload: { email, password: PASSWORD, name: 'Log Reader' },
    });
    assert.equal(register.statusCode, 201, register.body);
    tokens.push((register.json() as { token: string }).token);

    const wrong = await call({
      method: 'POST',
      url: '/v1/auth/login',
      route: '/v1/auth/login',
      reqId: `bad-login-${run}`,
      payload: { email, password: WRONG_PASSWORD },
    });
    assert.equal(wrong.statusCode, 401);

    const login = await call({
      method: 'POST',
      url: '/v1/auth/login',
      route: '/v1/auth/login',
      reqId: `login-${run}`,
      payload: { email, password: PASSWORD },
    });
    assert.equal(login.statusCode, 200, login.body);
    const token = (login.json() as { token: string }).token;
    tokens.push(token);
    const authorization = `Bearer ${token}`;
    authorizationValues.push(authorization, `Bearer ${FORGED_TOKEN}`);

    const me = await call({ method: 'GET', url: '/v1/auth/me', route: '/v1/auth/me', reqId: `me-${run}`, headers: { authorization } });
    assert.equal(me.statusCode, 200, me.body);
    const forged = await call({
      method: 'GET',
      url: '/v1/auth/me',
      route: '/v1/auth/me',
      reqId: `forged-${run}`,
      headers: { authorization: `Bearer ${FORGED_TOKEN}` },
    });
    assert.equal(forged.statusCode, 401);

    const owner = await createUser(ctx, 'restaurant');
    const restaurant = await createRestaurant(ctx, owner, { pos: true });
    const order = await call({
      method: 'POST',
      url: '/v1/orders',
      route: '/v1/orders',
      reqId: `order-${run}`,
      headers: { authorization, 'idempotency-key': randomUUID() },
      payload: orderBody(restaurant),
    });
    assert.equal(order.statusCode, 201, order.body);
    const orderId = (order.json() as { id: string }).id;
    const read = await call({ method: 'GET', url: `/v1/orders/${orderId}`, route: '/v1/orders/:id', reqId: `read-${run}`, headers: { authorization } });
    assert.equal(read.statusCode, 200, read.body);

    // No client id, and one that is not acceptable as a log field: both get a generated UUID.
    const before = new Set(logStream.lines().map((l) => l.reqId));
    assert.equal((await ctx.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    const invalid = await ctx.app.inject({ method: 'GET', url: '/healthz?probe=invalid-id', headers: { 'x-request-id': 'not an acceptable id; far too long and with spaces'.repeat(2) } });
    assert.equal(invalid.statusCode, 200);

    await sleep(50); // pino writes asynchronously to the destination
    const fresh = logStream.lines().filter((l) => l.msg === 'request' && !before.has(l.reqId));
    [generatedIdLine, invalidIdLine] = fresh.filter((l) => l.route === '/healthz');
    requestLines = logStream.lines().filter((l) => l.msg === 'request');
  });

  it('writes exactly one "request" line per request, with method, route template, status, duration, reqId and trace id', () => {
    for (const s of sent) {
      const lines = requestLines.filter((l) => l.reqId === s.reqId);
      assert.equal(lines.length, 1, `${s.reqId}: ${lines.length} request lines`);
      const line = lines[0]!;
      assert.equal(line.level, 30, 'info level');
      assert.equal(line.method, s.method);
      assert.equal(line.route, s.route);
      assert.equal(line.status, s.status, `${s.reqId} logged status ${line.status}, answered ${s.status}`);
      assert.equal(line.aborted, undefined, `${s.reqId} logged as aborted`);
      assert.equal(typeof line.duration_ms, 'number');
      assert.ok((line.duration_ms as number) >= 0 && (line.duration_ms as number) < 30_000);
      assert.match(String(line.trace_id), /^[0-9a-f]{32}$/);
      assert.notEqual(line.trace_id, '0'.repeat(32));
    }
    const traceIds = new Set(sent.map((s) => requestLines.find((l) => l.reqId === s.reqId)!.trace_id));
    assert.equal(traceIds.size, sent.length, 'every request has its own trace');
    assert.equal(requestLines.length, sent.length + 2, 'no other request lines (the two /healthz calls included)');
  });

  it('uses the client’s x-request-id as reqId, and a generated UUID when none or an unusable one is given', () => {
    assert.ok(sent.length >= 6);
    for (const s of sent) assert.ok(requestLines.some((l) => l.reqId === s.reqId));
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    assert.match(String(generatedIdLine?.reqId), uuid);
    assert.match(String(invalidIdLine?.reqId), uuid);
    assert.notEqual(generatedIdLine?.reqId, invalidIdLine?.reqId);
  });

  it('never writes a password, a token, a Bearer header or an authorization value', () => {
    const text = logStream.text;
    assert.ok(text.length > 0);
    assert.ok(!text.includes(PASSWORD), 'the password is in the log');
    assert.ok(!text.includes(WRONG_PASSWORD), 'a wrong password is in the log');
    assert.equal(tokens.length, 2);
    for (const token of [...tokens, FORGED_TOKEN]) {
      assert.ok(!text.includes(token), 'a token is in the log');
      // the signature alone identifies the token as well
      assert.ok(!text.includes(token.split('.')[2]!), 'a token signature is in the log');
    }
    for (const value of authorizationValues) assert.ok(!text.includes(value), 'an authorization header value is in the log');
    // The scheme as sent in the header; the 401's message "A valid bearer token is required." is fine.
    const leaks = text.split('\n').filter((l) => l.includes('Bearer'));
    assert.deepEqual(leaks, [], 'the word Bearer is in the log');
  });

  it('logs a request whose client hung up before the answer as status 499, aborted', async () => {
    await ctx.sim.set('catalog', { median_ms: 1_500, p99_ms: 1_600 });
    await ctx.sim.set('eta', { median_ms: 1_500, p99_ms: 1_600 });
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = ctx.app.server.address() as { port: number };
    const reqId = `hang-up-${randomUUID().slice(0, 8)}`;
    const owner = await createUser(ctx, 'restaurant');
    await createRestaurant(ctx, owner);
    await assert.rejects(
      fetch(`http://127.0.0.1:${port}/v1/feed?lat=19.076&lng=72.8777`, {
        headers: { 'x-request-id': reqId },
        signal: AbortSignal.timeout(200),
      }),
      /TimeoutError|aborted/,
    );
    const line = await eventually('the hung-up request’s log line', async () =>
      logStream.lines().find((l) => l.msg === 'request' && l.reqId === reqId),
    );
    assert.equal(line.status, 499);
    assert.equal(line.aborted, true);
    assert.equal(line.route, '/v1/feed');
    await ctx.sim.fast();
  });
});
