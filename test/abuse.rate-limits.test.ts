import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { type App, build } from '../src/app.ts';
import { TEST_PASSWORD, createUser, databaseDigest, partnerEnv, setup, testConfig } from './helper.ts';
import { freePort } from './ops.helper.ts';

const LOGIN_PER_ADDRESS = 10;
const LOGIN_PER_ACCOUNT = 5;
const REGISTER_PER_ADDRESS = 5;
const LIMITS = {
  LOGIN_RATE_PER_MINUTE: String(LOGIN_PER_ADDRESS),
  LOGIN_ACCOUNT_RATE_PER_MINUTE: String(LOGIN_PER_ACCOUNT),
  REGISTER_RATE_PER_MINUTE: String(REGISTER_PER_ADDRESS),
};
const REDIS_URL = 'redis://127.0.0.1:6379';

const ctx = await setup({ env: LIMITS });

/** A client address of its own for each test, so no test sees another's counts. */
const newAddress = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;
const newEmail = (what: string) => `${what}-${randomUUID().slice(0, 8)}@dabba.test`;

const login = (from: string, email: string, password = TEST_PASSWORD, app: App = ctx.app) =>
  app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: from, payload: { email, password } });
/** A login refused by validation (empty password) without hashing anything: it still counts, towards both limits. */
const invalidLogin = (from: string, email: string, app: App = ctx.app) => login(from, email, '', app);
const register = (from: string, email: string) =>
  ctx.app.inject({ method: 'POST', url: '/v1/auth/register', remoteAddress: from, payload: { email, password: 'a long enough password', name: 'Signup' } });

/** Another app on the same database, with these limits and the partners of `ctx`; closed with the file. */
async function another(env: Record<string, string>) {
  const app = await build(testConfig(ctx.url, { ...partnerEnv(ctx.sim), ...env }), { background: false });
  await app.ready();
  after(() => app.close());
  return app;
}

/** dabba_http_rate_limited_total{limit}: refusals are counted there, before any other telemetry. */
const rateLimited = async (limit: string) => (await ctx.app.metrics.httpRateLimited.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;

function assertRefused(res: Awaited<ReturnType<typeof login>>, what: RegExp) {
  assert.equal(res.statusCode, 429, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${res.headers['retry-after']}`);
  const problem = res.json() as Record<string, unknown>;
  assert.equal(problem.type, 'https://dabba.dev/problems/too-many-requests');
  assert.equal(problem.title, 'Too many requests');
  assert.equal(problem.status, 429);
  assert.match(String(problem.detail), what);
  assert.match(String(problem.detail), new RegExp(`retry after ${retryAfter} s`));
}

/** Whether Redis answers PING on 127.0.0.1:6379 within a second. */
function redisReachable() {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(6379, '127.0.0.1');
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

describe('rate limits on login and registration', () => {
  it(`refuses the ${LOGIN_PER_ADDRESS + 1}th login from one address within a minute with 429 problem+json and Retry-After, changing nothing`, async () => {
    const from = newAddress();
    // Credential stuffing: one address, a different account each time.
    const attempts = await Promise.all(Array.from({ length: LOGIN_PER_ADDRESS }, () => login(from, newEmail('stuffed'), 'wrong password')));
    for (const res of attempts) {
      assert.equal(res.statusCode, 401, res.body);
      assert.equal(res.headers['retry-after'], undefined);
    }
    const customer = await createUser(ctx, 'customer');
    const before = await databaseDigest(ctx.sql);
    const countedBefore = await rateLimited('login-address');

    // Even the right password: the address is refused before the password is looked at.
    const refused = await login(from, customer.email);
    assertRefused(refused, /login attempts from this address \(at most 10 a minute\)/);
    assert.equal(refused.json().token, undefined);
    assertRefused(await login(from, newEmail('stuffed'), 'wrong password'), /from this address/);
    assert.equal(await databaseDigest(ctx.sql), before);
    assert.equal((await rateLimited('login-address')) - countedBefore, 2);
  });

  it('counts requests refused as invalid too, and does not slow down another address', async () => {
    const from = newAddress();
    for (let i = 0; i < LOGIN_PER_ADDRESS; i++) assert.equal((await invalidLogin(from, newEmail('stuffed'))).statusCode, 400);
    assertRefused(await invalidLogin(from, newEmail('stuffed')), /from this address/);

    const customer = await createUser(ctx, 'customer');
    const elsewhere = await login(newAddress(), customer.email);
    assert.equal(elsewhere.statusCode, 200, elsewhere.body);
  });

  it(`refuses the ${LOGIN_PER_ACCOUNT + 1}th login for one account within a minute, from whatever address and however the email is cased`, async () => {
    const customer = await createUser(ctx, 'customer');
    // A distributed attack: every attempt from an address of its own, each well under its address's limit.
    const attempts = await Promise.all(
      Array.from({ length: LOGIN_PER_ACCOUNT }, (_, i) => login(newAddress(), i % 2 ? customer.email.toUpperCase() : customer.email)),
    );
    for (const res of attempts) assert.equal(res.statusCode, 200, res.body);
    const from = newAddress();
    const countedBefore = await rateLimited('login-account');
    assertRefused(await login(from, customer.email), /login attempts for this account \(at most 5 a minute\)/);
    assertRefused(await login(newAddress(), customer.email.toUpperCase(), 'wrong password'), /for this account/);
    assert.equal((await rateLimited('login-account')) - countedBefore, 2);

    // The address that was refused for that account may still sign in to another.
    const other = await createUser(ctx, 'customer');
    const res = await login(from, other.email);
    assert.equal(res.statusCode, 200, res.body);
  });

  it(`refuses the ${REGISTER_PER_ADDRESS + 1}th registration from one address within a minute, creating no account`, async () => {
    const from = newAddress();
    const signups = await Promise.all(Array.from({ length: REGISTER_PER_ADDRESS }, () => register(from, newEmail('signup'))));
    for (const res of signups) assert.equal(res.statusCode, 201, res.body);
    const before = await databaseDigest(ctx.sql);
    const email = newEmail('signup');
    assertRefused(await register(from, email), /registrations from this address \(at most 5 a minute\)/);
    assert.equal(await databaseDigest(ctx.sql), before);
    const { rows } = await ctx.sql.query('SELECT 1 FROM users WHERE email = $1', [email]);
    assert.equal(rows.length, 0);

    const elsewhere = await register(newAddress(), email);
    assert.equal(elsewhere.statusCode, 201, elsewhere.body);
  });

  it('limits nothing when the limits are 0', async () => {
    const unlimited = await another({});
    const from = newAddress();
    // Past both login limits: from one address, for one account.
    for (let i = 0; i <= LOGIN_PER_ADDRESS; i++) {
      const res = await invalidLogin(from, 'target@dabba.test', unlimited);
      assert.equal(res.statusCode, 400, `attempt ${i + 1}: ${res.body}`);
    }
  });

  it('shares the counts between two apps through Redis (REDIS_URL)', async (t) => {
    if (!(await redisReachable())) {
      // CI (.ci/run) starts Redis and sets DABBA_TEST_REQUIRE_SERVICES: there a missing Redis is a failure.
      assert.ok(!process.env.DABBA_TEST_REQUIRE_SERVICES, `Redis is not reachable at ${REDIS_URL}`);
      t.skip(`Redis is not reachable at ${REDIS_URL}: start it to run this test (see .ci/run)`);
      return;
    }
    // A key prefix of this run's own, so runs sharing the Redis never see each other's counts.
    const env = { ...LIMITS, REDIS_URL, REDIS_KEY_PREFIX: `dabba-test:${randomUUID()}:` };
    const [a, b] = [await another(env), await another(env)];
    const from = newAddress();
    for (let i = 0; i < LOGIN_PER_ADDRESS; i++) {
      const res = await invalidLogin(from, newEmail('stuffed'), i % 2 ? b : a);
      assert.equal(res.statusCode, 400, `attempt ${i + 1}: ${res.body}`);
    }
    assertRefused(await invalidLogin(from, newEmail('stuffed'), a), /from this address/);
    assertRefused(await invalidLogin(from, newEmail('stuffed'), b), /from this address/);

    const customer = await createUser(ctx, 'customer');
    for (let i = 0; i < LOGIN_PER_ACCOUNT; i++) {
      const res = await invalidLogin(newAddress(), customer.email, i % 2 ? b : a);
      assert.equal(res.statusCode, 400, `attempt ${i + 1}: ${res.body}`);
    }
    assertRefused(await login(newAddress(), customer.email, TEST_PASSWORD, b), /for this account/);
    // Without the shared store each app would have counted only its own half.
    const alone = await another(LIMITS);
    const res = await login(newAddress(), customer.email, TEST_PASSWORD, alone);
    assert.equal(res.statusCode, 200, res.body);
  });

  it('lets logins through, promptly, while Redis is unreachable', async () => {
    // Nothing listens on this port: every count fails, and the API answers as if there were no limit.
    const app = await another({ ...LIMITS, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    const from = newAddress();
    const started = performance.now();
    for (let i = 0; i <= LOGIN_PER_ADDRESS; i++) {
      const res = await invalidLogin(from, 'target@dabba.test', app);
      assert.equal(res.statusCode, 400, `attempt ${i + 1}: ${res.body}`);
    }
    const customer = await createUser(ctx, 'customer');
    const res = await login(from, customer.email, TEST_PASSWORD, app);
    assert.equal(res.statusCode, 200, res.body);
    // No request waits on the missing store (no offline queue): 11 answers without hashing take milliseconds.
    assert.ok(performance.now() - started < 3_000, `took ${Math.round(performance.now() - started)} ms`);
  });
});
