import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSigner } from 'fast-jwt';
import type { Role } from '../src/domain/identity.ts';
import { type MoveIntent, decideMove } from '../src/domain/order-moves.ts';
import { ORDER_STATUSES, type OrderStatus } from '../src/domain/order-status.ts';
import { ACTIONS } from '../src/routes/orders/schema.ts';
import { type Actor, type TestRestaurant, createRestaurant, createUser, databaseDigest, orderBody, placeOrder, setup, testConfig } from './helper.ts';

const ctx = await setup();
const SECRET = testConfig(ctx.url).jwt.secret;

/** Everyone who might knock, relative to one order: customer-owner's, at restaurant-owner's restaurant, carried by the assigned courier. */
const WHO = ['customer-owner', 'other customer', 'restaurant-owner', 'other restaurant', 'assigned courier', 'other courier', 'admin', 'anonymous'] as const;
type Who = (typeof WHO)[number];
type Person = Exclude<Who, 'anonymous'>;
const ROLE: Record<Person, Role> = {
  'customer-owner': 'customer', 'other customer': 'customer', 'restaurant-owner': 'restaurant', 'other restaurant': 'restaurant',
  'assigned courier': 'courier', 'other courier': 'courier', admin: 'admin',
};
const SEES_THE_ORDER = new Set<Who>(['customer-owner', 'restaurant-owner', 'assigned courier', 'admin']);

type Cast = { people: Record<Person, Actor>; mine: TestRestaurant; theirs: TestRestaurant };

/** A fresh cast per suite, so each suite's orders are its own. */
async function cast(): Promise<Cast> {
  const people = {} as Record<Person, Actor>;
  for (const who of Object.keys(ROLE) as Person[]) people[who] = await createUser(ctx, ROLE[who]);
  const mine = await createRestaurant(ctx, people['restaurant-owner']);
  const theirs = await createRestaurant(ctx, people['other restaurant']);
  return { people, mine, theirs };
}
const headersOf = (c: Cast, who: Who): Record<string, string> => (who === 'anonymous' ? {} : c.people[who].auth);

/** An order of customer-owner at `mine`, forced into `status` with the assigned courier (or none). */
async function orderIn(c: Cast, status: OrderStatus, courier: Actor | null = c.people['assigned courier']) {
  const { id } = await placeOrder(ctx, c.people['customer-owner'], c.mine);
  await ctx.sql.query('UPDATE orders SET status = $2, courier_id = $3 WHERE id = $1', [id, status, courier?.id ?? null]);
  return id;
}

async function snapshot(orderId: string) {
  const { rows } = await ctx.sql.query(
    `SELECT status, version, courier_id, (SELECT count(*)::int FROM order_events e WHERE e.order_id = o.id) AS events
       FROM orders o WHERE id = $1`,
    [orderId],
  );
  return rows[0] as { status: OrderStatus; version: number; courier_id: string | null; events: number };
}

function assertAnswer(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number) {
  assert.equal(res.statusCode, status, res.body);
  if (status < 400) return;
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  assert.equal(JSON.parse(res.body).status, status);
}

/** What a person should get when they try a move on an order in `from` (checkout done, courier assigned): the order's rules decide. */
function expectedMove(who: Who, from: OrderStatus, intent: OrderStatus | MoveIntent): number {
  if (who === 'anonymous') return 401;
  if (!SEES_THE_ORDER.has(who)) return 404;
  const order = { id: 'o', status: from, version: 1, payment_state: 'authorized', courier_id: 'the courier' } as const;
  const actor = { id: who === 'assigned courier' ? 'the courier' : who, role: ROLE[who] };
  const decision = decideMove(order, typeof intent === 'string' ? { to: intent } : intent, actor);
  if (decision.ok) return 200;
  return decision.refusal.code === 'forbidden' || decision.refusal.code === 'not_assigned' ? 403 : 409;
}
const MEANING: Record<number, string> = {
  200: 'allowed', 201: 'created', 401: 'must sign in', 403: 'forbidden for the role', 404: 'cannot see it', 409: 'illegal from this status',
};
/** The first status an action is a legal move from (placed for cancel). */
const naturalFrom = (to: OrderStatus) => ORDER_STATUSES.find((s) => expectedMove('admin', s, to) === 200)!;

describe('order actions: who may move an order, from which status', async () => {
  const c = await cast();

  it('computed expectations agree with hand-checked cells', () => {
    // Who may take each step from the status it is meant for (written out by hand, not read from the state machine).
    const spec: Record<string, [OrderStatus, Role[]]> = {
      cancel: ['placed', ['customer', 'admin']],
      accept: ['placed', ['restaurant', 'admin']],
      reject: ['placed', ['restaurant', 'admin']],
      preparing: ['confirmed', ['restaurant', 'admin']],
      ready: ['preparing', ['restaurant', 'admin']],
      'picked-up': ['ready', ['courier', 'admin']],
      delivered: ['picked_up', ['courier', 'admin']],
    };
    for (const action of ACTIONS) {
      const [from, allowed] = spec[action.path]!;
      assert.equal(naturalFrom(action.to), from, action.path);
      for (const who of ['customer-owner', 'restaurant-owner', 'assigned courier', 'admin'] as const) {
        assert.equal(expectedMove(who, from, action.to), allowed.includes(ROLE[who]) ? 200 : 403, `${who} ${action.path}`);
      }
    }
    const cells: [Who, string, OrderStatus, number][] = [
      ['customer-owner', 'cancel', 'confirmed', 200],
      ['customer-owner', 'cancel', 'preparing', 403],
      ['restaurant-owner', 'cancel', 'preparing', 200],
      ['restaurant-owner', 'accept', 'delivered', 409],
      ['assigned courier', 'delivered', 'ready', 409],
      ['admin', 'cancel', 'cancelled', 409],
      ['admin', 'ready', 'ready', 409],
      ['other customer', 'cancel', 'placed', 404],
      ['other restaurant', 'accept', 'placed', 404],
      ['other courier', 'picked-up', 'ready', 404],
      ['anonymous', 'cancel', 'placed', 401],
    ];
    for (const [who, path, from, code] of cells) {
      assert.equal(expectedMove(who, from, ACTIONS.find((a) => a.path === path)!.to), code, `${who} ${path} from ${from}`);
    }
  });

  for (const action of ACTIONS) {
    describe(`POST /v1/orders/:id/${action.path}`, () => {
      for (const who of WHO) {
        const froms = SEES_THE_ORDER.has(who) ? ORDER_STATUSES : [naturalFrom(action.to)];
        for (const from of froms) {
          const code = expectedMove(who, from, action.to);
          it(`${who} on a ${from} order → ${code} (${MEANING[code]})`, async () => {
            const id = await orderIn(c, from);
            const before = await snapshot(id);
            const res = await ctx.app.inject({
              method: 'POST',
              url: `/v1/orders/${id}/${action.path}`,
              headers: headersOf(c, who),
              payload: {},
            });
            assertAnswer(res, code);
            const after = await snapshot(id);
            if (code === 200) {
              assert.equal(res.json().status, action.to);
              assert.deepEqual(after, { ...before, status: action.to, version: before.version + 1, events: before.events + 1 });
            } else {
              assert.deepEqual(after, before, 'a refused action changes nothing');
            }
          });
        }
      }
    });
  }

  it('picked-up on a ready order with no courier is a 409 even for an admin', async () => {
    const id = await orderIn(c, 'ready', null);
    const before = await snapshot(id);
    const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${id}/picked-up`, headers: c.people.admin.auth, payload: {} });
    assertAnswer(res, 409);
    assert.deepEqual(await snapshot(id), before);
  });
});

describe('POST /v1/orders/:id/assign: admins only', async () => {
  const c = await cast();
  for (const who of WHO) {
    const froms = who === 'admin' ? ORDER_STATUSES : (['placed'] as const);
    for (const from of froms) {
      const code = who === 'anonymous' ? 401 : who !== 'admin' ? 403 : expectedMove('admin', from, { assign: 'a courier' });
      it(`${who} on a ${from} order → ${code} (${MEANING[code]})`, async () => {
        const id = await orderIn(c, from);
        const before = await snapshot(id);
        const courierId = c.people['other courier'].id;
        const res = await ctx.app.inject({
          method: 'POST',
          url: `/v1/orders/${id}/assign`,
          headers: headersOf(c, who),
          payload: { courier_id: courierId },
        });
        assertAnswer(res, code);
        const after = await snapshot(id);
        if (code === 200) assert.deepEqual(after, { ...before, courier_id: courierId, version: before.version + 1, events: before.events + 1 });
        else assert.deepEqual(after, before, 'a refused assignment changes nothing');
      });
    }
  }
});

describe('GET /v1/orders/:id', async () => {
  const c = await cast();
  const id = await orderIn(c, 'confirmed');
  for (const who of WHO) {
    const code = who === 'anonymous' ? 401 : SEES_THE_ORDER.has(who) ? 200 : 404;
    it(`${who} → ${code} (${MEANING[code]})`, async () => {
      const res = await ctx.app.inject({ method: 'GET', url: `/v1/orders/${id}`, headers: headersOf(c, who) });
      assertAnswer(res, code);
      if (code === 200) assert.equal(res.json().id, id);
    });
  }

  it('an id that exists nowhere is a 404 for every action, even for an admin', async () => {
    const ghost = randomUUID();
    for (const path of ['', ...ACTIONS.map((a) => `/${a.path}`), '/assign']) {
      const res = await ctx.app.inject({
        method: path ? 'POST' : 'GET',
        url: `/v1/orders/${ghost}${path}`,
        headers: c.people.admin.auth,
        ...(path ? { payload: path === '/assign' ? { courier_id: c.people['assigned courier'].id } : {} } : {}),
      });
      assertAnswer(res, 404);
    }
  });
});

describe('GET /v1/orders: exactly the visible orders', async () => {
  const c = await cast();
  const p = c.people;
  const place = async (customer: Actor, r: TestRestaurant, courier: Actor | null) => {
    const { id } = await placeOrder(ctx, customer, r);
    await ctx.sql.query('UPDATE orders SET courier_id = $2 WHERE id = $1', [id, courier?.id ?? null]);
    return id;
  };
  const a = await place(p['customer-owner'], c.mine, p['assigned courier']);
  const b = await place(p['customer-owner'], c.theirs, null);
  const d = await place(p['other customer'], c.mine, p['other courier']);
  const e = await place(p['other customer'], c.theirs, p['assigned courier']);
  const expected: Record<Exclude<Who, 'admin' | 'anonymous'>, string[]> = {
    'customer-owner': [a, b],
    'other customer': [d, e],
    'restaurant-owner': [a, d],
    'other restaurant': [b, e],
    'assigned courier': [a, e],
    'other courier': [d],
  };

  /** Follows next_cursor to the end, so the admin's (larger) list is compared whole. */
  async function listAll(headers: Record<string, string>) {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await ctx.app.inject({ method: 'GET', url: '/v1/orders', headers, query: { limit: '7', ...(cursor ? { cursor } : {}) } });
      assertAnswer(res, 200);
      const page = res.json() as { items: { id: string }[]; next_cursor: string | null };
      ids.push(...page.items.map((o) => o.id));
      cursor = page.next_cursor;
    } while (cursor);
    return ids.sort();
  }

  for (const [who, ids] of Object.entries(expected) as [Person, string[]][]) {
    it(`${who} sees exactly their ${ids.length} order(s)`, async () => {
      assert.deepEqual(await listAll(p[who].auth), [...ids].sort());
    });
  }
  it('admin sees every order in the database', async () => {
    const { rows } = await ctx.sql.query<{ id: string }>('SELECT id FROM orders');
    const all = await listAll(p.admin.auth);
    assert.deepEqual(all, rows.map((r) => r.id).sort());
    for (const id of [a, b, d, e]) assert.ok(all.includes(id));
  });
  it('anonymous → 401', async () => {
    assertAnswer(await ctx.app.inject({ method: 'GET', url: '/v1/orders' }), 401);
  });
});

describe('POST /v1/orders: customers only', async () => {
  const c = await cast();
  for (const who of WHO) {
    const code = who === 'anonymous' ? 401 : ROLE[who] === 'customer' ? 201 : 403;
    it(`${who} → ${code} (${MEANING[code]})`, async () => {
      const count = async () => (await ctx.sql.query('SELECT count(*)::int AS n FROM orders')).rows[0].n as number;
      const before = await count();
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/v1/orders',
        headers: { ...headersOf(c, who), 'idempotency-key': randomUUID() },
        payload: orderBody(c.mine),
      });
      assertAnswer(res, code);
      assert.equal(await count(), before + (code === 201 ? 1 : 0));
      if (code === 201) assert.equal(res.json().customer_id, c.people[who as Person].id);
    });
  }
});

describe('restaurant PATCH endpoints: the owner or an admin', async () => {
  const c = await cast();
  const row = async (table: string, id: string) => (await ctx.sql.query(`SELECT * FROM ${table} WHERE id = $1`, [id])).rows[0];
  const [item, otherItem] = [c.mine.items[0]!.id, c.mine.items[1]!.id];
  const targets = [
    { name: 'PATCH /v1/restaurants/:id', table: 'restaurants', id: c.mine.id, url: `/v1/restaurants/${c.mine.id}`, cross: false },
    { name: 'PATCH /v1/restaurants/:id/menu/:itemId', table: 'menu_items', id: item, url: `/v1/restaurants/${c.mine.id}/menu/${item}`, cross: false },
    // The item is mine, the restaurant in the path is not its restaurant: nobody may reach it that way.
    { name: 'PATCH …/menu/:itemId via the wrong restaurant', table: 'menu_items', id: otherItem, url: `/v1/restaurants/${c.theirs.id}/menu/${otherItem}`, cross: true },
  ];
  const expected = (who: Who, cross: boolean) => {
    if (who === 'anonymous') return 401;
    if (ROLE[who] === 'customer' || ROLE[who] === 'courier') return 403;
    return !cross && (who === 'restaurant-owner' || who === 'admin') ? 200 : 404;
  };
  for (const t of targets) {
    for (const who of WHO) {
      const code = expected(who, t.cross);
      it(`${t.name} by ${who} → ${code} (${MEANING[code]})`, async () => {
        const was = await row(t.table, t.id);
        const change = t.table === 'restaurants' ? { is_open: !was.is_open } : { price_cents: was.price_cents + 1 };
        const res = await ctx.app.inject({ method: 'PATCH', url: t.url, headers: headersOf(c, who), payload: change });
        assertAnswer(res, code);
        const now = await row(t.table, t.id);
        if (code === 200) assert.deepEqual({ ...now, updated_at: null }, { ...was, ...change, updated_at: null });
        else assert.deepEqual(now, was, 'a refused patch changes nothing');
      });
    }
  }
});

describe('tokens: missing, malformed, expired or tampered → 401', async () => {
  const c = await cast();
  const admin = c.people.admin;
  const orderId = await orderIn(c, 'placed');
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const sign = (payload: object, opts: { key?: string; clockTimestamp?: number } = {}) =>
    createSigner({ key: opts.key ?? SECRET, algorithm: 'HS256', iss: 'dabba', aud: 'dabba-api', expiresIn: 60_000, clockTimestamp: opts.clockTimestamp })(
      payload as Record<string, unknown>,
    );
  const flipped = (() => {
    const [h, payload, s] = c.people['customer-owner'].token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
    return [h, b64({ ...claims, role: 'admin' }), s].join('.');
  })();
  const adminClaims = { sub: admin.id, role: 'admin', ver: 1 };
  const hourAgo = Date.now() - 3_600_000;

  it('controls: a token made here with the real secret, and now, is accepted', async () => {
    const res = await ctx.app.inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: { authorization: `Bearer ${sign(adminClaims)}` } });
    assertAnswer(res, 200);
  });

  const cases: [string, Record<string, string>][] = [
    ['no Authorization header', {}],
    ['Bearer garbage', { authorization: 'Bearer garbage' }],
    ['a token signed with another secret', { authorization: `Bearer ${sign(adminClaims, { key: 'another-secret-that-is-32-chars-long!!' })}` }],
    ['an expired token', { authorization: `Bearer ${sign(adminClaims, { clockTimestamp: hourAgo })}` }],
    ['a customer token with its role claim flipped to admin', { authorization: `Bearer ${flipped}` }],
    ['an unsigned (alg none) token', { authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...adminClaims, iss: 'dabba' })}.` }],
    ['a valid token under the Basic scheme', { authorization: `Basic ${admin.token}` }],
    ['Basic credentials', { authorization: `Basic ${Buffer.from(`${admin.email}:secret`).toString('base64')}` }],
    ["a validly signed token whose role is 'superuser'", { authorization: `Bearer ${sign({ sub: admin.id, role: 'superuser', ver: 1 })}` }],
  ];
  const endpoints: [string, string, object | undefined][] = [
    ['GET', `/v1/orders/${orderId}`, undefined],
    ['GET', '/v1/orders', undefined],
    ['POST', '/v1/orders', orderBody(c.mine)],
    ...ACTIONS.map((a): [string, string, object] => ['POST', `/v1/orders/${orderId}/${a.path}`, {}]),
    ['POST', `/v1/orders/${orderId}/assign`, { courier_id: c.people['other courier'].id }],
    ['PATCH', `/v1/restaurants/${c.mine.id}`, { is_open: false }],
    ['PATCH', `/v1/restaurants/${c.mine.id}/menu/${c.mine.items[0]!.id}`, { price_cents: 1 }],
    ['GET', '/v1/auth/me', undefined],
    ['POST', '/v1/auth/stream-ticket', undefined],
    // Streams answer a refusal like any route, before a stream would open.
    ['GET', `/v1/orders/${orderId}/track`, undefined],
    ['GET', `/v1/restaurants/${c.mine.id}/orders/stream`, undefined],
    ['GET', '/v1/ops/stream', undefined],
  ];
  for (const [name, headers] of cases) {
    it(`${name} → 401 problem on every protected endpoint, changing nothing`, async () => {
      const before = await databaseDigest(ctx.sql);
      for (const [method, url, payload] of endpoints) {
        const res = await ctx.app.inject({
          method: method as 'GET',
          url,
          headers: { ...headers, 'idempotency-key': randomUUID() },
          ...(payload ? { payload } : {}),
        });
        assert.equal(res.statusCode, 401, `${method} ${url}: ${res.body}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${method} ${url}`);
        assert.equal(res.json().status, 401);
      }
      assert.equal(await databaseDigest(ctx.sql), before);
    });
  }
});
