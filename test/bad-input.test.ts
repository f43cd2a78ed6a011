import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { offset } from '../src/domain/geo.ts';
import { ACTIONS } from '../src/routes/orders/schema.ts';
import { CENTER, TEST_PASSWORD, createRestaurant, createUser, databaseDigest, orderBody, placeOrder, setup } from './helper.ts';

const ctx = await setup();
const customer = await createUser(ctx, 'customer');
const admin = await createUser(ctx, 'admin');
const owner = await createUser(ctx, 'restaurant');
const courier = await createUser(ctx, 'courier');
const restaurant = await createRestaurant(ctx, owner);
const elsewhere = await createRestaurant(ctx, owner);
const order = await placeOrder(ctx, customer, restaurant);

type Method = 'GET' | 'POST' | 'PATCH';
type Json = Record<string, unknown>;
interface Route {
  name: string;
  method: Method;
  url: string;
  headers: Record<string, string>;
  /** A valid body; every case below spoils exactly one thing about it. */
  body?: Json;
  query?: Record<string, string>;
  /** Fields reported when the body is `{}`; undefined when `{}` is a valid body. */
  required?: string[];
}
interface Case {
  name: string;
  status: number;
  /** Where the problem is (the `field` of each `errors` entry, as a set); undefined when no `errors` are expected. */
  fields?: string[];
  url?: string;
  headers?: Record<string, string>;
  payload?: string | Json | unknown[];
  /** Merged over the route's query; null removes a parameter. */
  query?: Record<string, string | null>;
}

const item = restaurant.items[0]!;
const json = { 'content-type': 'application/json' };
const withKey = { ...customer.auth, 'idempotency-key': randomUUID() };
const R: Record<string, Route> = {
  register: {
    name: 'POST /v1/auth/register', method: 'POST', url: '/v1/auth/register', headers: {},
    body: { email: 'new-person@dabba.test', password: 'a long enough password', name: 'New Person' },
    required: ['body/email', 'body/password', 'body/name'],
  },
  login: {
    name: 'POST /v1/auth/login', method: 'POST', url: '/v1/auth/login', headers: {},
    body: { email: customer.email, password: TEST_PASSWORD }, required: ['body/email', 'body/password'],
  },
  nearby: { name: 'GET /v1/restaurants', method: 'GET', url: '/v1/restaurants', headers: {}, query: { lat: String(CENTER.lat), lng: String(CENTER.lng) } },
  restaurant: { name: 'GET /v1/restaurants/:id', method: 'GET', url: `/v1/restaurants/${restaurant.id}`, headers: {} },
  menu: { name: 'GET /v1/restaurants/:id/menu', method: 'GET', url: `/v1/restaurants/${restaurant.id}/menu`, headers: {} },
  patchRestaurant: {
    name: 'PATCH /v1/restaurants/:id', method: 'PATCH', url: `/v1/restaurants/${restaurant.id}`, headers: admin.auth,
    body: { is_open: false }, required: ['body/is_open'],
  },
  patchItem: {
    name: 'PATCH /v1/restaurants/:id/menu/:itemId', method: 'PATCH', url: `/v1/restaurants/${restaurant.id}/menu/${item.id}`,
    headers: admin.auth, body: { price_cents: 1 }, required: ['body'],
  },
  place: {
    name: 'POST /v1/orders', method: 'POST', url: '/v1/orders', headers: withKey, body: orderBody(restaurant),
    required: ['body/restaurant_id', 'body/items', 'body/delivery'],
  },
  list: { name: 'GET /v1/orders', method: 'GET', url: '/v1/orders', headers: admin.auth },
  get: { name: 'GET /v1/orders/:id', method: 'GET', url: `/v1/orders/${order.id}`, headers: admin.auth },
  ...Object.fromEntries(
    ACTIONS.map((a) => [a.path, { name: `POST /v1/orders/:id/${a.path}`, method: 'POST', url: `/v1/orders/${order.id}/${a.path}`, headers: admin.auth, body: { reason: 'because' } }]),
  ),
  assign: {
    name: 'POST /v1/orders/:id/assign', method: 'POST', url: `/v1/orders/${order.id}/assign`, headers: admin.auth,
    body: { courier_id: courier.id }, required: ['body/courier_id'],
  },
};

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const spoil = (route: Route, patch: Json) => ({ ...route.body, ...patch });
const lines = (n: number, quantity = 1) => Array.from({ length: n }, () => ({ menu_item_id: randomUUID(), quantity }));
const delivery = (patch: Json) => ({ ...(R.place!.body!.delivery as Json), ...patch });
const itemLine = (patch: Json) => [{ menu_item_id: item.id, quantity: 1, ...patch }];
const far = offset(CENTER, 0, 40);

/** Cursors that are not ones the server issued: junk, the wrong JSON, the right shape with the wrong contents. */
const badCursors = (shapeOk: unknown[]): [string, string, number][] => [
  ['random text with symbols', 'not a cursor!', 400],
  ['random base64url text', 'aGVsbG8gd29ybGQ', 400],
  ['base64url of an object', b64({ after: 1 }), 400],
  ['base64url of a three-element array', b64([1, 2, 3]), 400],
  ['base64url of the right shape with bad contents', b64(shapeOk), 400],
];

const TABLE: Record<string, Case[]> = {
  register: [
    { name: 'a number for the email', status: 400, fields: ['body/email'], payload: spoil(R.register!, { email: 12345 }) },
    { name: 'an array for the name', status: 400, fields: ['body/name'], payload: spoil(R.register!, { name: ['a', 'b'] }) },
    { name: 'a short password', status: 400, fields: ['body/password'], payload: spoil(R.register!, { password: 'short' }) },
    { name: 'an empty name', status: 400, fields: ['body/name'], payload: spoil(R.register!, { name: '' }) },
  ],
  login: [
    { name: 'an email without an @', status: 400, fields: ['body/email'], payload: spoil(R.login!, { email: 'nobody' }) },
    { name: 'an empty password', status: 400, fields: ['body/password'], payload: spoil(R.login!, { password: '' }) },
    { name: 'an object for the password', status: 400, fields: ['body/password'], payload: spoil(R.login!, { password: { $ne: '' } }) },
  ],
  nearby: [
    { name: 'no lat or lng', status: 400, fields: ['querystring/lat', 'querystring/lng'], query: { lat: null, lng: null } },
    { name: 'lat 91', status: 400, fields: ['querystring/lat'], query: { lat: '91' } },
    { name: 'lng -181', status: 400, fields: ['querystring/lng'], query: { lng: '-181' } },
    { name: 'lat NaN', status: 400, fields: ['querystring/lat'], query: { lat: 'NaN' } },
    { name: 'radius_km 0', status: 400, fields: ['querystring/radius_km'], query: { radius_km: '0' } },
    { name: 'radius_km 51', status: 400, fields: ['querystring/radius_km'], query: { radius_km: '51' } },
    { name: 'limit 0', status: 400, fields: ['querystring/limit'], query: { limit: '0' } },
    { name: 'limit 101', status: 400, fields: ['querystring/limit'], query: { limit: '101' } },
    ...badCursors([1.5, 'not-a-uuid']).map(([name, cursor, status]) => ({ name: `a cursor: ${name}`, status, fields: ['querystring/cursor'], query: { cursor } })),
  ],
  list: [
    { name: 'limit 0', status: 400, fields: ['querystring/limit'], query: { limit: '0' } },
    { name: 'limit 101', status: 400, fields: ['querystring/limit'], query: { limit: '101' } },
    { name: 'limit "ten"', status: 400, fields: ['querystring/limit'], query: { limit: 'ten' } },
    ...badCursors(['yesterday', order.id]).map(([name, cursor, status]) => ({ name: `a cursor: ${name}`, status, fields: ['querystring/cursor'], query: { cursor } })),
    ...[
      ['an id that is not a UUID', [new Date().toISOString(), 'not-a-uuid']],
      ['a year PostgreSQL rejects', ['0000-01-01T00:00:00.000Z', order.id]],
      ['an expanded year', ['+010000-01-01T00:00:00.000Z', order.id]],
    ].map(([name, shape]) => ({ name: `a cursor: ${name}`, status: 400, fields: ['querystring/cursor'], query: { cursor: b64(shape) } })),
  ],
  patchRestaurant: [
    { name: 'a word for is_open', status: 400, fields: ['body/is_open'], payload: { is_open: 'maybe' } },
    { name: 'an array for is_open', status: 400, fields: ['body/is_open'], payload: { is_open: [true, false] } },
  ],
  patchItem: [
    { name: 'price_cents 0', status: 400, fields: ['body/price_cents'], payload: { price_cents: 0 } },
    { name: 'a fractional price', status: 400, fields: ['body/price_cents'], payload: { price_cents: 1.5 } },
    { name: 'a word for the price', status: 400, fields: ['body/price_cents'], payload: { price_cents: 'cheap' } },
    { name: 'a price over the maximum', status: 400, fields: ['body/price_cents'], payload: { price_cents: 10_000_001 } },
    { name: 'a word for is_available', status: 400, fields: ['body/is_available'], payload: { is_available: 'sometimes' } },
    { name: 'a non-UUID item id', status: 400, fields: ['params/itemId'], url: `/v1/restaurants/${restaurant.id}/menu/42` },
  ],
  place: [
    { name: 'a number for restaurant_id', status: 400, fields: ['body/restaurant_id'], payload: spoil(R.place!, { restaurant_id: 123 }) },
    { name: 'an object for items', status: 400, fields: ['body/items'], payload: spoil(R.place!, { items: { menu_item_id: item.id, quantity: 1 } }) },
    { name: 'an array for delivery', status: 400, fields: ['body/delivery'], payload: spoil(R.place!, { delivery: [CENTER.lat, CENTER.lng] }) },
    { name: 'quantity 0', status: 400, fields: ['body/items/0/quantity'], payload: spoil(R.place!, { items: itemLine({ quantity: 0 }) }) },
    { name: 'quantity 51', status: 400, fields: ['body/items/0/quantity'], payload: spoil(R.place!, { items: itemLine({ quantity: 51 }) }) },
    { name: 'a word for quantity', status: 400, fields: ['body/items/0/quantity'], payload: spoil(R.place!, { items: itemLine({ quantity: 'two' }) }) },
    { name: 'a line without menu_item_id', status: 400, fields: ['body/items/0/menu_item_id'], payload: spoil(R.place!, { items: [{ quantity: 1 }] }) },
    { name: 'empty items', status: 400, fields: ['body/items'], payload: spoil(R.place!, { items: [] }) },
    { name: '31 order lines', status: 400, fields: ['body/items'], payload: spoil(R.place!, { items: lines(31) }) },
    { name: 'delivery lat 91', status: 400, fields: ['body/delivery/lat'], payload: spoil(R.place!, { delivery: delivery({ lat: 91 }) }) },
    { name: 'delivery lng -181', status: 400, fields: ['body/delivery/lng'], payload: spoil(R.place!, { delivery: delivery({ lng: -181 }) }) },
    { name: 'delivery lat "NaN"', status: 400, fields: ['body/delivery/lat'], payload: spoil(R.place!, { delivery: delivery({ lat: 'NaN' }) }) },
    { name: 'an empty address', status: 400, fields: ['body/delivery/address'], payload: spoil(R.place!, { delivery: delivery({ address: '' }) }) },
    { name: 'notes over 500 characters', status: 400, fields: ['body/notes'], payload: spoil(R.place!, { notes: 'n'.repeat(501) }) },
    {
      name: 'several problems at once, all reported', status: 400, fields: ['body/items/0/quantity', 'body/delivery/lat'],
      payload: spoil(R.place!, { items: itemLine({ quantity: 0 }), delivery: delivery({ lat: 91 }) }),
    },
    { name: 'no Idempotency-Key', status: 400, fields: ['headers/idempotency-key'], headers: customer.auth },
    { name: 'a too short Idempotency-Key', status: 400, fields: ['headers/idempotency-key'], headers: { ...customer.auth, 'idempotency-key': 'short' } },
    { name: 'an Idempotency-Key with spaces', status: 400, fields: ['headers/idempotency-key'], headers: { ...customer.auth, 'idempotency-key': 'has some spaces' } },
    { name: 'an unknown restaurant', status: 422, fields: ['body/restaurant_id'], payload: spoil(R.place!, { restaurant_id: randomUUID() }) },
    { name: "another restaurant's dish", status: 422, fields: ['body/items/0/menu_item_id'], payload: spoil(R.place!, { items: [{ menu_item_id: elsewhere.items[0]!.id, quantity: 1 }] }) },
    { name: 'one dish listed twice', status: 422, fields: ['body/items/1/menu_item_id'], payload: spoil(R.place!, { items: [...itemLine({}), ...itemLine({})] }) },
    { name: 'a delivery point out of range', status: 422, fields: ['body/delivery'], payload: spoil(R.place!, { delivery: delivery({ ...far }) }) },
  ],
  ...Object.fromEntries(
    ACTIONS.map((a) => [
      a.path,
      [
        { name: 'an empty reason', status: 400, fields: ['body/reason'], payload: { reason: '' } },
        { name: 'a reason over 500 characters', status: 400, fields: ['body/reason'], payload: { reason: 'r'.repeat(501) } },
        { name: 'an object for the reason', status: 400, fields: ['body/reason'], payload: { reason: { text: 'x' } } },
      ],
    ]),
  ),
  assign: [
    { name: 'a non-UUID courier_id', status: 400, fields: ['body/courier_id'], payload: { courier_id: 'abc' } },
    { name: 'a number for courier_id', status: 400, fields: ['body/courier_id'], payload: { courier_id: 42 } },
    { name: 'a customer as the courier', status: 422, fields: ['body/courier_id'], payload: { courier_id: customer.id } },
  ],
};

/** What every route with a body or an id must also survive. */
function generic(route: Route): Case[] {
  const cases: Case[] = [];
  if (route.url.includes(order.id) || route.url.includes(restaurant.id)) {
    const url = route.url.replace(order.id, 'not-a-uuid').replace(restaurant.id, 'not-a-uuid');
    cases.push({ name: 'a non-UUID id in the path', status: 400, fields: ['params/id'], url });
  }
  if (!route.body) return cases;
  const big = { ...route.body, padding: 'x'.repeat(1024 * 1024) };
  cases.push(
    { name: 'malformed JSON', status: 400, headers: { ...route.headers, ...json }, payload: '{"email": "a@b.c", ' },
    { name: 'an empty JSON body', status: 400, headers: { ...route.headers, ...json }, payload: '' },
    { name: 'an array for the body', status: 400, fields: ['body'], payload: [route.body] },
    { name: 'a JSON string for the body', status: 400, fields: ['body'], headers: { ...route.headers, ...json }, payload: '"text"' },
    { name: 'a body over 1 MiB', status: 413, payload: big },
    { name: 'text/plain', status: 415, headers: { ...route.headers, 'content-type': 'text/plain' }, payload: JSON.stringify(route.body) },
    { name: 'a form body', status: 415, headers: { ...route.headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'is_open=false' },
  );
  if (route.required) cases.push({ name: 'missing required fields', status: 400, fields: route.required, payload: {} });
  return cases;
}

/** A stack frame, a file path in the dependencies, or SQL: none of it belongs in a response. */
const LEAKS = [/\n\s+at /, /\bat [\w.<>]+ \(/, /\bat (?:file|node):/, /node_modules/, /\bSELECT\b/, /\bINSERT\b/, /\bUPDATE\b/];

function assertProblem(res: { statusCode: number; headers: Record<string, unknown>; body: string }, c: Case) {
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `a 4xx, got ${res.statusCode}: ${res.body}`);
  assert.equal(res.statusCode, c.status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const p = JSON.parse(res.body);
  for (const k of ['type', 'title', 'detail'] as const) assert.ok(typeof p[k] === 'string' && p[k].length > 0, `problem.${k}: ${res.body}`);
  assert.equal(p.status, res.statusCode);
  if (c.fields) {
    assert.ok(Array.isArray(p.errors) && p.errors.length > 0, `an errors array: ${res.body}`);
    for (const e of p.errors) assert.ok(typeof e.field === 'string' && typeof e.message === 'string' && e.message, JSON.stringify(e));
    assert.deepEqual([...new Set(p.errors.map((e: { field: string }) => e.field))].sort(), [...c.fields].sort());
  }
  for (const leak of LEAKS) assert.doesNotMatch(res.body, leak);
}

describe('bad input: a 4xx problem, never a 5xx, and nothing changes', async () => {
  const before = await databaseDigest(ctx.sql);
  for (const [key, route] of Object.entries(R)) {
    describe(route.name, () => {
      for (const c of [...generic(route), ...(TABLE[key] ?? [])]) {
        it(`${c.name} → ${c.status}${c.fields ? ` at ${c.fields.join(' + ')}` : ''}`, async () => {
          const merged = Object.entries({ ...route.query, ...c.query }).filter((e): e is [string, string] => e[1] !== null);
          const query = merged.length > 0 ? Object.fromEntries(merged) : undefined;
          const payload = c.payload ?? route.body;
          const res = await ctx.app.inject({
            method: route.method,
            url: c.url ?? route.url,
            headers: c.headers ?? route.headers,
            ...(query ? { query } : {}),
            ...(payload !== undefined ? { payload: payload as Json } : {}),
          });
          assertProblem(res, c);
        });
      }
    });
  }

  it('the database is exactly as it was', async () => {
    assert.equal(await databaseDigest(ctx.sql), before);
  });
});

describe('unknown fields are dropped, not obeyed and not rejected', () => {
  it('an order takes its prices, status, customer and courier from the server, never from the body', async () => {
    const line = { menu_item_id: item.id, quantity: 2, price_cents: 1, unit_price_cents: 1, line_total_cents: 1 };
    const body = { ...orderBody(restaurant, { items: [line] }), total_cents: 1, subtotal_cents: 1, status: 'delivered', customer_id: admin.id, courier_id: courier.id };
    const res = await ctx.app.inject({ method: 'POST', url: '/v1/orders', headers: { ...customer.auth, 'idempotency-key': randomUUID() }, payload: body });
    assert.equal(res.statusCode, 201, res.body);
    const placed = res.json();
    const { rows } = await ctx.sql.query(
      `SELECT o.customer_id, o.courier_id, o.subtotal_cents, o.total_cents, i.unit_price_cents, i.line_total_cents
         FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = $1`,
      [placed.id],
    );
    assert.deepEqual(rows, [
      {
        customer_id: customer.id, courier_id: null, subtotal_cents: item.price_cents * 2, total_cents: placed.total_cents,
        unit_price_cents: item.price_cents, line_total_cents: item.price_cents * 2,
      },
    ]);
    assert.ok(placed.total_cents > item.price_cents * 2, 'the total is the subtotal plus a delivery fee, not the 1 cent sent');
    assert.notEqual(placed.status, 'delivered');
  });

  it("registering with role: admin creates a customer", async () => {
    const email = `role-${randomUUID().slice(0, 8)}@dabba.test`;
    const res = await ctx.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: 'a long enough password', name: 'Mallory', role: 'admin' } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().user.role, 'customer');
    assert.equal((await ctx.sql.query('SELECT role FROM users WHERE email = $1', [email])).rows[0].role, 'customer');
  });

  it("a menu-item patch changes only the patchable fields", async () => {
    const target = restaurant.items[2]!;
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/restaurants/${restaurant.id}/menu/${target.id}`,
      headers: owner.auth,
      payload: { price_cents: 12_345, name: 'Renamed', restaurant_id: elsewhere.id },
    });
    assert.equal(res.statusCode, 200, res.body);
    const { rows } = await ctx.sql.query('SELECT name, restaurant_id, price_cents FROM menu_items WHERE id = $1', [target.id]);
    assert.deepEqual(rows[0], { name: target.name, restaurant_id: restaurant.id, price_cents: 12_345 });
  });

  it('an unknown query parameter is ignored', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: '/v1/restaurants', query: { lat: String(CENTER.lat), lng: String(CENTER.lng), evil: '1' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(res.json().items.some((r: { id: string }) => r.id === restaurant.id));
  });
});
