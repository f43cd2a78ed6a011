import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { ACTIONS } from '../src/routes/orders/schema.ts';
import { CENTER, TEST_PASSWORD, createRestaurant, createUser, databaseDigest, orderBody, placeOrder, setup } from './helper.ts';
import { LogCollector } from './ops.helper.ts';

const logStream = new LogCollector();
const ctx = await setup({ logStream, env: { LOG_LEVEL: 'info' } });
const customer = await createUser(ctx, 'customer');
const admin = await createUser(ctx, 'admin');
const owner = await createUser(ctx, 'restaurant');
const restaurant = await createRestaurant(ctx, owner);
const order = await placeOrder(ctx, customer, restaurant);

interface Problem {
  type: string;
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
  errors_truncated?: boolean;
}

const KiB = 1024;
const NUL = '\u0000';
const withKey = () => ({ ...customer.auth, 'idempotency-key': randomUUID() });

function problemOf(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number): Problem {
  assert.equal(res.statusCode, status, res.body.slice(0, 2_000));
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const problem = JSON.parse(res.body) as Problem;
  assert.equal(problem.status, status);
  return problem;
}

/** The raw log lines written for one request id, as the operator's log pipeline would receive them. */
function logLinesOf(reqId: string) {
  return logStream.text.split('\n').filter((line) => line.includes(`"reqId":"${reqId}"`));
}

describe('a huge invalid body costs little and answers briefly', () => {
  it('1 MiB of empty order lines → a 400 under 16 KiB with at most 20 errors, found without collecting every problem', async () => {
    const head = JSON.stringify({ restaurant_id: restaurant.id, delivery: orderBody(restaurant).delivery }).slice(0, -1);
    const count = Math.floor((1024 * KiB - head.length - 20) / 3);
    const payload = `${head},"items":[${Array(count).fill('{}').join(',')}]}`;
    assert.ok(payload.length > 1000 * KiB && payload.length <= 1024 * KiB, `a body just under the 1 MiB limit: ${payload.length}`);
    const reqId = `abuse-${randomUUID().slice(0, 8)}`;

    const [res, health] = await Promise.all([
      ctx.app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: { ...withKey(), 'content-type': 'application/json', 'x-request-id': reqId },
        payload,
      }),
      ctx.app.inject({ method: 'GET', url: '/healthz' }),
    ]);

    assert.equal(health.statusCode, 200, 'a cheap request sent alongside is answered');
    assert.ok(res.body.length < 16 * KiB, `the problem is ${res.body.length} bytes`);
    const problem = problemOf(res, 400);
    assert.ok(problem.errors && problem.errors.length >= 1 && problem.errors.length <= 20, `${problem.errors?.length} errors`);
    assert.ok(problem.errors.every((e) => e.field.startsWith('body/items')), JSON.stringify(problem.errors));
    assert.equal(problem.errors_truncated, true, 'the client is told the list is not complete');

    const lines = logLinesOf(reqId);
    const longest = Math.max(...lines.map((l) => l.length));
    assert.ok(longest < 8 * KiB, `the longest log line for the request is ${longest} bytes`);
    // The count of problems the validator produced, not a clock: 340,000 lines must not become 680,000 error objects.
    const refused = lines.map((l) => JSON.parse(l) as { status?: number; error_count?: number }).find((l) => l.status === 400 && 'error_count' in l);
    assert.ok(refused, `a line for the refusal: ${lines.join('\n').slice(0, 2_000)}`);
    assert.ok(refused.error_count! <= 20, `the validator collected ${refused.error_count} problems`);
  });

  it('a body small enough to check in full but with ~1,000 problems → 20 listed, a short answer and a short log line', async () => {
    const reqId = `abuse-${randomUUID().slice(0, 8)}`;
    const items = Array.from({ length: 490 }, () => ({}));
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { ...withKey(), 'x-request-id': reqId },
      payload: orderBody(restaurant, { items }),
    });
    assert.ok(res.body.length < 16 * KiB, `the problem is ${res.body.length} bytes`);
    const problem = problemOf(res, 400);
    assert.equal(problem.errors?.length, 20);
    assert.equal(problem.errors_truncated, true);
    assert.match(problem.detail, /\b20 of its 981 problems\b/, 'maxItems, and two missing fields on each of 490 lines');
    const longest = Math.max(...logLinesOf(reqId).map((l) => l.length));
    assert.ok(longest < 8 * KiB, `the longest log line for the request is ${longest} bytes`);
  });

  it('a small body with many problems lists the first 20 and says how many there are', async () => {
    const items = Array.from({ length: 25 }, () => ({ quantity: 0 }));
    const res = await ctx.app.inject({ method: 'POST', url: '/v1/orders', headers: withKey(), payload: orderBody(restaurant, { items }) });
    const problem = problemOf(res, 400);
    assert.equal(problem.errors?.length, 20);
    assert.equal(problem.errors_truncated, true);
    assert.match(problem.detail, /\b20 of its 50 problems\b/);
  });

  it('a small body with two bad fields reports both at once', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: withKey(),
      payload: orderBody(restaurant, { restaurant_id: 123, delivery: { ...CENTER, lat: 91, address: 'Somewhere' } }),
    });
    const problem = problemOf(res, 400);
    assert.deepEqual(problem.errors?.map((e) => e.field).sort(), ['body/delivery/lat', 'body/restaurant_id']);
    assert.equal(problem.errors_truncated, undefined);
  });
});

interface NulCase {
  route: string;
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  payload?: Record<string, unknown>;
  query?: Record<string, string>;
  field: string;
}

const register = { email: `nul-${randomUUID().slice(0, 8)}@dabba.test`, password: 'a long enough password', name: 'Nul Person' };
const login = { email: customer.email, password: TEST_PASSWORD };
const placing = orderBody(restaurant, { notes: 'ring twice' }) as ReturnType<typeof orderBody> & { notes: string };
const NUL_CASES: NulCase[] = [
  { route: 'POST /v1/auth/register', method: 'POST', url: '/v1/auth/register', payload: { ...register, email: `nul${NUL}@dabba.test` }, field: 'body/email' },
  { route: 'POST /v1/auth/register', method: 'POST', url: '/v1/auth/register', payload: { ...register, password: `a long${NUL}enough password` }, field: 'body/password' },
  { route: 'POST /v1/auth/register', method: 'POST', url: '/v1/auth/register', payload: { ...register, name: `Nul${NUL}Person` }, field: 'body/name' },
  { route: 'POST /v1/auth/login', method: 'POST', url: '/v1/auth/login', payload: { ...login, email: `${customer.email}${NUL}` }, field: 'body/email' },
  { route: 'POST /v1/auth/login', method: 'POST', url: '/v1/auth/login', payload: { ...login, password: `${TEST_PASSWORD}${NUL}` }, field: 'body/password' },
  {
    route: 'POST /v1/orders', method: 'POST', url: '/v1/orders', headers: withKey(),
    payload: { ...placing, delivery: { ...placing.delivery, address: `12 Marine${NUL} Drive` } }, field: 'body/delivery/address',
  },
  { route: 'POST /v1/orders', method: 'POST', url: '/v1/orders', headers: withKey(), payload: { ...placing, notes: `ring${NUL}twice` }, field: 'body/notes' },
  ...ACTIONS.map((a): NulCase => ({
    route: `POST /v1/orders/:id/${a.path}`, method: 'POST', url: `/v1/orders/${order.id}/${a.path}`, headers: admin.auth,
    payload: { reason: `because${NUL}` }, field: 'body/reason',
  })),
  { route: 'GET /v1/orders', method: 'GET', url: '/v1/orders', headers: admin.auth, query: { cursor: `abc${NUL}` }, field: 'querystring/cursor' },
  {
    route: 'GET /v1/restaurants', method: 'GET', url: '/v1/restaurants',
    query: { lat: String(CENTER.lat), lng: String(CENTER.lng), cursor: `abc${NUL}` }, field: 'querystring/cursor',
  },
];

describe('a NUL character in any text is a 400 naming the field, and nothing changes', () => {
  for (const c of NUL_CASES) {
    it(`${c.route}: NUL in ${c.field} → 400 at ${c.field}`, async () => {
      const before = await databaseDigest(ctx.sql);
      const res = await ctx.app.inject({
        method: c.method,
        url: c.url,
        headers: c.headers ?? {},
        ...(c.query ? { query: c.query } : {}),
        ...(c.payload ? { payload: c.payload } : {}),
      });
      const problem = problemOf(res, 400);
      assert.ok(problem.errors?.some((e) => e.field === c.field), `an error at ${c.field}: ${res.body}`);
      assert.equal(await databaseDigest(ctx.sql), before, 'the database changed');
    });
  }
});

describe('an order too large for its totals', () => {
  it('five dishes at the maximum price, fifty of each → 422 at body/items, nothing inserted', async () => {
    const pricey = await createRestaurant(ctx, owner, { items: 5 });
    for (const dish of pricey.items) {
      const res = await ctx.app.inject({
        method: 'PATCH',
        url: `/v1/restaurants/${pricey.id}/menu/${dish.id}`,
        headers: owner.auth,
        payload: { price_cents: 10_000_000 },
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    const items = pricey.items.map((dish) => ({ menu_item_id: dish.id, quantity: 50 }));
    const before = await databaseDigest(ctx.sql);
    const res = await ctx.app.inject({ method: 'POST', url: '/v1/orders', headers: withKey(), payload: orderBody(pricey, { items }) });
    const problem = problemOf(res, 422);
    assert.ok(problem.errors?.some((e) => e.field === 'body/items'), res.body);
    assert.match(problem.detail, /at most/);
    assert.equal(await databaseDigest(ctx.sql), before, 'the refused order changed the database');
  });

  it('a menu price above the maximum is refused', async () => {
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/restaurants/${restaurant.id}/menu/${restaurant.items[0]!.id}`,
      headers: owner.auth,
      payload: { price_cents: 2 ** 31 },
    });
    const problem = problemOf(res, 400);
    assert.ok(problem.errors?.some((e) => e.field === 'body/price_cents'), res.body);
  });
});
