/**
 * Partners are outside systems: what they answer is checked before anything of ours reads it, and
 * what we send them is only what they need. A malformed answer is a partner failure of kind
 * `bad_response`, degraded like any other (the feed marks the restaurant, an optional ETA becomes
 * null), never cached as a last good menu, never retried at once, and counted by the breaker.
 * Every PartnerError says whether the call may have reached the partner.
 *
 * Malformed answers come from a small `node:http` server in this file, which also records what it
 * was sent; the app under test points its ETA and catalog URLs at it (payments and POS stay on the
 * simulators), and the client-level tests point one PartnerHttp at it (also to show that a call
 * waiting for one of its sockets is not timed as if the partner were slow).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { offset, type Point } from '../src/domain/geo.ts';
import { CatalogClient } from '../src/partners/catalog.client.ts';
import { EtaClient } from '../src/partners/eta.client.ts';
import { NotifyClient } from '../src/partners/notify.client.ts';
import { PaymentsClient } from '../src/partners/payments.client.ts';
import { PosClient } from '../src/partners/pos.client.ts';
import type { Answer, FakePartner } from './fake-partner.ts';
import { CENTER, createRestaurant, createUser, setup } from './helper.ts';
import { A, B, failure, fakePartner, partnerHttp, signal } from './partner-http.helper.ts';
import { NO_SHEDDING, metricValue, orderRows, place, posWorld } from './partners.helper.ts';

const GOOD_AS_OF = '2025-01-01T12:00:00.000Z';
const goodItem = (id: string, price_cents = 9_000) => ({ id, name: `Dish ${id}`, price_cents, available: true });

// ---------------------------------------------------------------------------------------------
// The app under test, its ETA and catalog partners answering whatever a test says.

const fake = await fakePartner();
/** The ETA answer for the next predictions; sane by default. */
let etaAnswer: (body: unknown) => Answer = () => ({ status: 200, body: { minutes: 25, model: 'fake' } });
/** Catalog answers per restaurant; a generated sane menu for any other. */
const menus = new Map<string, Answer>();
const saneMenu = (restaurantId: string) => ({
  restaurant_id: restaurantId,
  items: [goodItem(`${restaurantId}-1`, 9_000), goodItem(`${restaurantId}-2`, 11_000)],
  as_of: GOOD_AS_OF,
});
fake.answer = ({ path, body }) => {
  if (path === '/eta/v1/predict') return etaAnswer(body);
  const m = /^\/catalog\/v1\/restaurants\/([^/]+)\/menu$/.exec(path);
  if (m) return menus.get(m[1]!) ?? { status: 200, body: saneMenu(m[1]!) };
  return { status: 404, body: { error: 'not found' } };
};
const predictions = () => fake.received.filter((r) => r.path === '/eta/v1/predict').map((r) => r.body);

// The breaker out of reach: each test here sees bad answers as bad_response, not as an open breaker
// (the breaker's part is checked on a PartnerHttp of its own below).
const ctx = await setup({
  env: {
    ...NO_SHEDDING,
    ETA_URL: `${fake.url}/eta`,
    CATALOG_URL: `${fake.url}/catalog`,
    PARTNER_BREAKER_THRESHOLD: '1000',
    FEED_DEADLINE_MS: '2000',
  },
});

interface FeedEntry {
  restaurant: { id: string };
  menu: { stale: boolean; as_of: string; highlights: { id: string; name: string; price_cents: number }[] } | null;
  menu_error?: string;
  eta_minutes: number | null;
  eta_error?: string;
}

/** Every feed test in its own neighbourhood, far from the orders' restaurants and from each other. */
let neighbourhoods = 0;
function neighbourhood(): Point {
  neighbourhoods++;
  return offset(CENTER, (neighbourhoods * 67) % 360, 70 * neighbourhoods);
}

async function restaurantAt(at: Point, bearing: number, km: number) {
  return createRestaurant(ctx, await createUser(ctx, 'restaurant'), { at: offset(at, bearing, km) });
}

async function feed(at: Point) {
  const res = await ctx.app.inject({ method: 'GET', url: `/v1/feed?lat=${at.lat}&lng=${at.lng}` });
  assert.equal(res.statusCode, 200, `the feed must answer 200 whatever a partner says: ${res.body}`);
  const body = res.json() as { items: FeedEntry[]; partial: boolean };
  return { ...body, entry: (id: string) => body.items.find((i) => i.restaurant.id === id)! };
}

// ---------------------------------------------------------------------------------------------
// Each client checks every answer it reads.

describe('each partner client checks the answers it reads', () => {
  const eta = (fake: FakePartner) => new EtaClient(partnerHttp('eta', fake.url).http);

  for (const [why, body] of [
    ['1e12 minutes', { minutes: 1e12 }],
    ['negative minutes', { minutes: -5 }],
    ['fractional minutes', { minutes: 12.5 }],
    ['minutes as a string', { minutes: '20' }],
    ['no minutes', { model: 'sim-v1' }],
    ['an array', [20]],
    ['null', 'null'],
    ['invalid JSON', '{"minutes": 2'],
  ] as const) {
    it(`an ETA answer with ${why} is a bad_response that may have reached the partner`, async () => {
      const fake = await fakePartner();
      fake.answer = () => ({ status: 200, body });
      const err = await failure(eta(fake).predict(A, B, 15, signal()));
      assert.equal(err.kind, 'bad_response', err.message);
      assert.equal(err.partner, 'eta');
      assert.equal(err.mayHaveReached, true);
    });
  }

  it('a sane ETA answer comes through: whole minutes up to ten hours', async () => {
    const fake = await fakePartner();
    const client = eta(fake);
    for (const minutes of [1, 42, 600]) {
      fake.answer = () => ({ status: 200, body: { minutes, model: 'sim-v1' } });
      assert.equal(await client.predict(A, B, 15, signal()), minutes);
    }
  });

  it('the ETA partner is sent two points and the prep minutes, nothing else, whatever the caller passes', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({ status: 200, body: { minutes: 30 } });
    // Structural typing lets a caller pass a whole row where a Point is expected.
    const row = { ...A, id: randomUUID(), owner_id: randomUUID(), name: 'Secret Kitchen', address: '1 Private Lane' };
    await eta(fake).predict(row, { ...B, address: '12 Marine Drive' } as Point, 15, signal());
    assert.deepEqual(fake.received[0]!.body, { origin: A, destination: B, prep_minutes: 15 });
  });

  for (const [why, menu] of [
    ['a negative price', { items: [goodItem('m1'), goodItem('m2', -100)], as_of: GOOD_AS_OF }],
    ['a price as a string', { items: [goodItem('m1'), { ...goodItem('m2'), price_cents: '90.00' }], as_of: GOOD_AS_OF }],
    ['a fractional price', { items: [goodItem('m1', 99.5)], as_of: GOOD_AS_OF }],
    ['a price above 1,000,000 cents', { items: [goodItem('m1', 1_000_001)], as_of: GOOD_AS_OF }],
    ['an as_of that is not a date-time', { items: [goodItem('m1')], as_of: 'yesterday' }],
    ['no as_of', { items: [goodItem('m1')] }],
    ['an empty item id', { items: [goodItem('')], as_of: GOOD_AS_OF }],
    ['an item id of 1000 characters', { items: [goodItem('m'.repeat(1000))], as_of: GOOD_AS_OF }],
    ['availability as a string', { items: [{ ...goodItem('m1'), available: 'yes' }], as_of: GOOD_AS_OF }],
    ['more than 1000 items', { items: Array.from({ length: 1001 }, (_, i) => goodItem(`m${i}`)), as_of: GOOD_AS_OF }],
  ] as const) {
    it(`a catalog menu with ${why} is a bad_response`, async () => {
      const fake = await fakePartner();
      fake.answer = () => ({ status: 200, body: menu });
      const err = await failure(new CatalogClient(partnerHttp('catalog', fake.url).http).menu('r-1', signal()));
      assert.equal(err.kind, 'bad_response', err.message);
      assert.equal(err.mayHaveReached, true);
    });
  }

  it('a sane menu comes through with only the fields we know', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({
      status: 200,
      body: { restaurant_id: 'r-1', items: [{ ...goodItem('m1', 0), secret: 'x'.repeat(100) }], as_of: GOOD_AS_OF, extra: true },
    });
    const menu = await new CatalogClient(partnerHttp('catalog', fake.url).http).menu('r-1', signal());
    assert.deepEqual(menu, { items: [goodItem('m1', 0)], as_of: GOOD_AS_OF });
  });

  it('payments: an authorisation without a usable id, or a decline with a reason that is not a string, is a bad_response', async () => {
    const fake = await fakePartner();
    const payments = new PaymentsClient(partnerHttp('payments', fake.url).http);
    const order = { id: randomUUID(), totalCents: 10_000, currency: 'INR' };
    for (const answer of [
      { status: 201, body: { authorization_id: '' } },
      { status: 201, body: { authorization_id: 42 } },
      { status: 201, body: { authorization_id: 'a'.repeat(1000) } },
      { status: 201, body: { authorization_id: 'auth 1\n' } },
      { status: 402, body: { reason: { code: 1 } } },
      { status: 422, body: { error: 'idempotency key reused' } },
    ]) {
      fake.answer = () => answer;
      const err = await failure(payments.authorize(order, signal()));
      assert.equal(err.kind, 'bad_response', `${JSON.stringify(answer)}: ${err.message}`);
    }
    fake.answer = () => ({ status: 201, body: { authorization_id: 'auth_1', status: 'authorized' } });
    assert.deepEqual(await payments.authorize(order, signal()), { ok: true, authorizationId: 'auth_1' });
    fake.answer = () => ({ status: 402, body: { status: 'declined' } });
    assert.deepEqual(await payments.authorize(order, signal()), { ok: false, reason: 'declined' });
    fake.answer = () => ({ status: 409, body: { reason: 'already_voided' } });
    assert.deepEqual(await payments.void('auth_1', order.id, signal()), { ok: false, reason: 'already_voided' });
    fake.answer = () => ({ status: 409, body: { reason: 7 } });
    assert.equal((await failure(payments.capture('auth_1', order.id, signal()))).kind, 'bad_response');
  });

  it('POS: a ticket without a usable id or with absurd prep minutes is a bad_response; a cancel reads only the status', async () => {
    const fake = await fakePartner();
    const pos = new PosClient(partnerHttp('pos', fake.url).http);
    const order = { id: randomUUID(), restaurantId: randomUUID(), items: [{ menu_item_id: randomUUID(), quantity: 1 }] };
    for (const answer of [
      { status: 201, body: { pos_order_id: '', prep_minutes: 10 } },
      { status: 201, body: { pos_order_id: 'pos_1', prep_minutes: 1e9 } },
      { status: 201, body: { pos_order_id: 'pos_1', prep_minutes: '10' } },
      { status: 409, body: { reason: ['closed'] } },
    ]) {
      fake.answer = () => answer;
      const err = await failure(pos.submit(order, signal()));
      assert.equal(err.kind, 'bad_response', `${JSON.stringify(answer)}: ${err.message}`);
    }
    fake.answer = () => ({ status: 201, body: { pos_order_id: 'pos_1', status: 'accepted', prep_minutes: 12 } });
    assert.deepEqual(await pos.submit(order, signal()), { ok: true, posOrderId: 'pos_1', prepMinutes: 12 });
    fake.answer = () => ({ status: 409, body: { status: 'rejected', reason: 'closed' } });
    assert.deepEqual(await pos.submit(order, signal()), { ok: false, reason: 'closed' });
    fake.answer = () => ({ status: 200, body: { anything: 'at all' } });
    assert.equal(await pos.cancel('pos_1', order.id, signal()), true);
  });

  it('notify: any 2xx body is fine (it is not read), a 4xx is a bad_response', async () => {
    const fake = await fakePartner();
    const notify = new NotifyClient(partnerHttp('notify', fake.url).http);
    const message = { channel: 'push' as const, to: 'a@b.test', template: 'order.confirmed', data: {}, key: randomUUID() };
    fake.answer = () => ({ status: 202, body: { message_id: 'msg_1' } });
    await notify.send(message, signal());
    fake.answer = () => ({ status: 400, body: { error: 'invalid request' } });
    assert.equal((await failure(notify.send(message, signal()))).kind, 'bad_response');
  });
});


// ---------------------------------------------------------------------------------------------
// Checkout and the feed with partners answering nonsense.

describe('checkout with an ETA partner answering nonsense', () => {
  it('an ETA of 1e12 minutes: the order is still confirmed, with eta_minutes null, and the failure is counted', async () => {
    const world = await posWorld(ctx, { customers: 1, restaurants: 1 });
    const before = await metricValue(ctx, 'dabba_partner_call_duration_seconds_count', { partner: 'eta', outcome: 'bad_response' });
    etaAnswer = () => ({ status: 200, body: { minutes: 1e12 } });
    try {
      const order = await place(ctx, world.customers[0]!, world.restaurants[0]!);
      assert.equal(order.status, 'confirmed', `${order.status_reason}`);
      assert.equal(order.eta_minutes, null);
      const [row] = await orderRows(ctx, [order.id]);
      assert.equal(row!.status, 'confirmed');
      assert.equal(row!.eta_minutes, null);
    } finally {
      etaAnswer = () => ({ status: 200, body: { minutes: 25 } });
    }
    const after = await metricValue(ctx, 'dabba_partner_call_duration_seconds_count', { partner: 'eta', outcome: 'bad_response' });
    assert.equal(after - before, 1, 'one call, not retried, counted as bad_response');
  });

  it("the ETA partner is sent the restaurant's and the delivery's points and the prep minutes: no address, no ids", async () => {
    const world = await posWorld(ctx, { customers: 1, restaurants: 1 });
    const seen = predictions().length;
    const order = await place(ctx, world.customers[0]!, world.restaurants[0]!);
    assert.equal(order.status, 'confirmed');
    assert.equal(order.eta_minutes, 25);
    const sent = predictions().slice(seen);
    assert.equal(sent.length, 1);
    const { rows } = await ctx.sql.query<{ lat: number; lng: number; delivery_lat: number; delivery_lng: number; prep_minutes: number }>(
      `SELECT r.lat, r.lng, o.delivery_lat, o.delivery_lng, r.prep_minutes
       FROM orders o JOIN restaurants r ON r.id = o.restaurant_id WHERE o.id = $1`,
      [order.id],
    );
    const r = rows[0]!;
    assert.deepEqual(sent[0], {
      origin: { lat: r.lat, lng: r.lng },
      destination: { lat: r.delivery_lat, lng: r.delivery_lng },
      prep_minutes: r.prep_minutes,
    });
  });
});

describe('the feed with partners answering nonsense', () => {
  it('the ETA partner is sent two points and the prep minutes: no owner_id, name or other restaurant column', async () => {
    const here = neighbourhood();
    const r = await restaurantAt(here, 90, 1);
    const seen = predictions().length;
    const body = await feed(here);
    assert.equal(body.entry(r.id).eta_minutes, 25);
    const sent = predictions().slice(seen) as { origin: Record<string, unknown> }[];
    assert.equal(sent.length, 1);
    assert.deepEqual(Object.keys(sent[0]!).sort(), ['destination', 'origin', 'prep_minutes']);
    assert.deepEqual(Object.keys(sent[0]!.origin).sort(), ['lat', 'lng'], `origin sent as ${JSON.stringify(sent[0]!.origin)}`);
    assert.ok(!JSON.stringify(sent[0]).includes(r.ownerId), 'the owner id went to the ETA partner');
  });

  for (const [why, minutes] of [
    ['1e12', 1e12],
    ['-1', -1],
    ['"25"', '25'],
  ] as const) {
    it(`an ETA of ${why} minutes: the feed answers 200 with eta_minutes null and eta_error bad_response`, async () => {
      const here = neighbourhood();
      const r = await restaurantAt(here, 10, 1);
      etaAnswer = () => ({ status: 200, body: { minutes } });
      try {
        const body = await feed(here);
        assert.equal(body.entry(r.id).eta_minutes, null);
        assert.equal(body.entry(r.id).eta_error, 'bad_response');
        assert.equal(body.partial, true);
      } finally {
        etaAnswer = () => ({ status: 200, body: { minutes: 25 } });
      }
    });
  }

  for (const [why, bad] of [
    ['a negative price', (id: string) => ({ items: [goodItem(`${id}-x`, -500)], as_of: GOOD_AS_OF })],
    ['a price as a string', (id: string) => ({ items: [{ ...goodItem(`${id}-x`), price_cents: 'free' }], as_of: GOOD_AS_OF })],
    ['a bad as_of', (id: string) => ({ items: [goodItem(`${id}-x`)], as_of: 'not a date' })],
  ] as const) {
    it(`one restaurant's menu with ${why}: the feed answers 200, that restaurant marked bad_response, the others intact`, async () => {
      const here = neighbourhood();
      const sane = await restaurantAt(here, 0, 1);
      const broken = await restaurantAt(here, 180, 2);
      menus.set(broken.id, { status: 200, body: bad(broken.id) });

      const body = await feed(here);
      assert.equal(body.items.length, 2);
      assert.equal(body.entry(broken.id).menu, null, 'nothing good was ever seen: no menu');
      assert.equal(body.entry(broken.id).menu_error, 'bad_response');
      assert.equal(body.entry(broken.id).eta_minutes, 25, 'the ETA is unaffected');
      assert.equal(body.entry(sane.id).menu?.stale, false);
      assert.equal(body.entry(sane.id).menu_error, undefined);
      assert.equal(body.partial, true);

      // A later outage has nothing to fall back on: the bad menu was never kept as the last good one.
      menus.set(broken.id, { status: 503, body: { error: 'down' } });
      const later = await feed(here);
      assert.equal(later.entry(broken.id).menu, null, `served as last good: ${JSON.stringify(later.entry(broken.id).menu)}`);
      assert.equal(later.entry(broken.id).menu_error, 'unavailable');
    });
  }

  it('after a good menu, a bad one shows the good one as stale, and the bad one is never served later', async () => {
    const here = neighbourhood();
    const r = await restaurantAt(here, 45, 1);
    // The restaurant's own dishes as its catalog lists them: the feed shows dishes as dabba's menu holds them.
    const dishes = r.items.slice(0, 2).map(({ id, name, price_cents }) => ({ id, name, price_cents }));
    const good = { items: dishes.map((d) => ({ ...d, available: true })), as_of: GOOD_AS_OF };
    menus.set(r.id, { status: 200, body: good });
    const first = await feed(here);
    const goodHighlights = dishes;
    assert.deepEqual(first.entry(r.id).menu, { stale: false, as_of: GOOD_AS_OF, highlights: goodHighlights });

    menus.set(r.id, { status: 200, body: { items: [goodItem(`${r.id}-evil`, -1)], as_of: '2025-01-01T12:05:00.000Z' } });
    const bad = await feed(here);
    assert.deepEqual(bad.entry(r.id).menu, { stale: true, as_of: GOOD_AS_OF, highlights: goodHighlights });
    assert.equal(bad.entry(r.id).menu_error, 'bad_response');

    menus.set(r.id, { status: 503, body: { error: 'down' } });
    const down = await feed(here);
    assert.deepEqual(down.entry(r.id).menu, { stale: true, as_of: GOOD_AS_OF, highlights: goodHighlights }, 'still the good one');
    assert.equal(down.entry(r.id).menu_error, 'unavailable');
  });
});
