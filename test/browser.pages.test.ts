import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Locator, Page } from 'playwright-core';
import type { Static } from 'typebox';
import { DEMO_ACCOUNTS, DEMO_CENTER, DEMO_CITY_ACCOUNTS } from '../src/db/seed/demo-city.ts';
import { offset } from '../src/domain/geo.ts';
import type { GetFeed } from '../src/routes/feed/schema.ts';
import type { Order as OrderSchema } from '../src/routes/orders/schema.ts';
import type { GetMenu, Restaurant as RestaurantSchema } from '../src/routes/restaurants/schema.ts';
import { type BrowserCity, browserSuite, scrollWidth, startBrowserCity, unnamedControls, unreachableByTab } from './browser.helper.ts';
import { RawStream, statuses } from './sse.helper.ts';

type Restaurant = Static<typeof RestaurantSchema>;
type Feed = Static<(typeof GetFeed)['response'][200]>;
type Menu = Static<(typeof GetMenu)['response'][200]>;
type Order = Static<typeof OrderSchema>;

/** What the customer page's timeline says for each event (web/src/customer/tracking.tsx). */
const EVENT_TEXT: Record<string, string> = {
  courier_assigned: 'A courier is on the way to the restaurant',
  placed: 'Placed',
  confirmed: 'Confirmed',
  preparing: 'Preparing',
  ready: 'Ready for pick-up',
  picked_up: 'On its way',
  delivered: 'Delivered',
};
const FINAL_TEXT = /^(Delivered|Payment failed|Rejected|Cancelled)$/;
/** An order at ×120 takes 10–40 s; this is the bound past which something is stuck. */
const DELIVERY_MS = 90_000;

let city: BrowserCity;

/** The POS restaurant of the customer page's feed (same place, the demo centre) that cooks fastest: POS restaurants never reject. */
async function quickRestaurant(): Promise<string> {
  const feed = await city.call<Feed>('GET', `/v1/feed?lat=${DEMO_CENTER.lat}&lng=${DEMO_CENTER.lng}`);
  const pick = feed.body.items.filter((e) => e.restaurant.pos_integrated && e.menu !== null).sort((a, b) => a.restaurant.prep_minutes - b.restaurant.prep_minutes)[0];
  assert.ok(pick, `no POS restaurant in the feed: ${JSON.stringify(feed.body)}`);
  return pick.restaurant.name;
}

/** As a customer does it: an address, a restaurant from the feed, a dish, "Place order". Returns the order's id from the page's URL. */
async function orderOnPage(page: Page): Promise<string> {
  await page.getByLabel('Delivery address').fill('12 Marine Drive, Mumbai');
  await page.getByRole('button', { name: `Order from ${await quickRestaurant()}`, exact: true }).click();
  await page.getByRole('button', { name: /^One more /, disabled: false }).first().click();
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/[?&]order=/);
  return new URL(page.url()).searchParams.get('order')!;
}

const statusText = (page: Page) => page.getByTestId('order-status');

async function waitForStatus(page: Page, text: RegExp, timeout = DELIVERY_MS) {
  await statusText(page).filter({ hasText: text }).waitFor({ timeout });
  return (await statusText(page).textContent())?.trim();
}

/** The timeline as the page shows it: each entry's event id and words. */
const timeline = (page: Page) =>
  page.locator('ol.timeline > li').evaluateAll((items) => items.map((li) => ({ id: Number(li.getAttribute('data-event-id')), text: String(li.textContent) })));

/** The order's events as the API has them: its track stream, which replays a final order's history from the start and ends. */
async function apiEvents(orderId: string, token: string) {
  const stream = new RawStream(`${city.base}/v1/orders/${orderId}/track`, { authorization: `Bearer ${token}` });
  try {
    await stream.until('the track stream of an ended order to end', () => stream.ended, 10_000);
    assert.equal(stream.status, 200);
    return statuses(stream);
  } finally {
    stream.close();
  }
}

/** The page's timeline is exactly the API's events, in order, each in its words: nothing missing, nothing twice. */
async function assertTimelineIsTheOrdersEvents(page: Page, orderId: string, token: string) {
  const shown = await timeline(page);
  const events = await apiEvents(orderId, token);
  assert.deepEqual(
    shown.map((e) => e.id),
    events.map((e) => e.event_id),
    `timeline ${JSON.stringify(shown)} against the API's ${JSON.stringify(events.map((e) => [e.event_id, e.kind, e.to]))}`,
  );
  events.forEach((e, i) => {
    const words = EVENT_TEXT[e.kind === 'courier_assigned' ? e.kind : e.to];
    assert.ok(shown[i]!.text.startsWith(`${words} `), `event ${e.event_id} (${e.kind} ${e.to}) reads "${shown[i]!.text}"`);
  });
  return events;
}

/** The map's markers: each one's kind, who it is (its title up to the state), and its centre in map units. */
async function mapDots(page: Page) {
  return page
    .locator('svg.map g[data-kind]')
    .evaluateAll((groups) =>
      groups.map((g) => {
        const box = g.lastElementChild.getBBox();
        return { kind: String(g.getAttribute('data-kind')), who: String(g.querySelector('title')?.textContent).split(':')[0]!, x: box.x + box.width / 2, y: box.y + box.height / 2 };
      }),
    );
}

/**
 * The demo owner's board, on one of their restaurants (POS or tablet); an order placed there through
 * the API; how long after its 201 the order's card first showed, by the page's clock (this machine's,
 * as the test's), and in which lane.
 */
async function newOrderOnBoard(pos: boolean) {
  const page = await city.person();
  await city.signIn(page, '/restaurant', DEMO_ACCOUNTS.restaurant);
  const mine = await city.call<{ items: Restaurant[] }>('GET', '/v1/restaurants/mine', { token: await city.token(DEMO_ACCOUNTS.restaurant) });
  const restaurant = mine.body.items.find((r) => r.pos_integrated === pos && r.is_open);
  assert.ok(restaurant, `the demo owner has an open ${pos ? 'POS' : 'tablet'} restaurant: ${JSON.stringify(mine.body.items)}`);
  await page.getByRole('combobox', { name: /^Restaurant/ }).selectOption(restaurant.id);
  await page.getByRole('heading', { name: restaurant.name, exact: true }).waitFor();
  await page.locator('.badge.link-open').waitFor();
  await page.evaluate(() => {
    const g = globalThis as unknown as BoardPage;
    g.__seen = {};
    const note = () => {
      for (const card of g.document.querySelectorAll('article[data-order-id]')) {
        g.__seen[String(card.getAttribute('data-order-id'))] ??= { at: Date.now(), lane: String(card.closest('section')?.getAttribute('aria-labelledby')) };
      }
    };
    new g.MutationObserver(note).observe(g.document.body, { childList: true, subtree: true });
    note();
  });

  const menu = await city.call<Menu>('GET', `/v1/restaurants/${restaurant.id}/menu`);
  const dish = menu.body.items.find((i) => i.is_available);
  assert.ok(dish, `${restaurant.name} has a dish to order`);
  const placed = await city.call<Order>('POST', '/v1/orders', {
    token: await city.token(DEMO_ACCOUNTS.customer),
    headers: { 'idempotency-key': randomUUID() },
    body: {
      restaurant_id: restaurant.id,
      items: [{ menu_item_id: dish.id, quantity: 1 }],
      delivery: { ...offset(restaurant, 90, 1), address: '3 Carter Road, Mumbai' },
    },
  });
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
  await page.locator(`article[data-order-id="${placed.body.id}"]`).waitFor({ timeout: 10_000 });
  const seen = await page.evaluate((id) => (globalThis as unknown as BoardPage).__seen[id], placed.body.id);
  await city.screenshot(page, `restaurant-board-${pos ? 'pos' : 'tablet'}`);
  await page.context().close();
  assert.ok(seen, 'the observer saw the card');
  return { restaurant: restaurant.name, delayMs: seen.at - placed.at, lane: seen.lane };
}

/** The least-squares line through (from, to) pairs: how one sample's map coordinate became the next's. */
function rescaling(pairs: (readonly [number, number])[]) {
  const mean = (i: 0 | 1) => pairs.reduce((s, p) => s + p[i], 0) / pairs.length;
  const [mx, my] = [mean(0), mean(1)];
  const sxx = pairs.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const slope = sxx === 0 ? 1 : pairs.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  return (v: number) => my + slope * (v - mx);
}

const COURIER_KINDS = new Set(['available', 'offered', 'busy', 'stale']);

describe('the pages in a real browser, with the demo city alive', await browserSuite(), () => {
  before(async () => {
    city = await startBrowserCity();
  });
  after(() => city?.close());

  it('a customer signs in on the customer page, orders, and sees the city deliver it', async () => {
    const page = await city.person();
    await city.signIn(page, '/customer', DEMO_ACCOUNTS.customer);
    const orderId = await orderOnPage(page);

    const final = await waitForStatus(page, FINAL_TEXT);
    await city.screenshot(page, 'customer-delivered');
    assert.equal(final, 'Delivered');
    const events = await assertTimelineIsTheOrdersEvents(page, orderId, await city.token(DEMO_ACCOUNTS.customer));
    assert.deepEqual(
      events.filter((e) => e.kind === 'status').map((e) => e.to),
      ['placed', 'confirmed', 'preparing', 'ready', 'picked_up', 'delivered'],
    );

    // Nobody but the city moved it: its kitchen cooked it, one of its couriers carried it.
    const order = await city.call<Order>('GET', `/v1/orders/${orderId}`, { token: await city.token(DEMO_ACCOUNTS.customer) });
    const { rows } = await city.sql.query<{ to_status: string; actor_role: string; actor_id: string | null }>(
      'SELECT to_status, actor_role, actor_id FROM order_events WHERE order_id = $1 AND kind = $2 ORDER BY id',
      [orderId, 'status'],
    );
    const by = Object.fromEntries(rows.map((r) => [r.to_status, r]));
    assert.equal(by.preparing?.actor_role, 'restaurant');
    assert.equal(by.ready?.actor_role, 'restaurant');
    assert.ok(order.body.courier_id);
    assert.deepEqual([by.picked_up?.actor_id, by.delivered?.actor_id], [order.body.courier_id, order.body.courier_id]);
    await page.context().close();
  });

  it('the restaurant board shows a new order within 1 s of its placement (a POS restaurant)', async () => {
    const seen = await newOrderOnBoard(true);
    assert.ok(seen.delayMs <= 1_000, `${seen.restaurant}: the card showed ${seen.delayMs} ms after the 201, in lane ${seen.lane}`);
  });

  it(
    'the restaurant board shows a new order within 1 s of its placement (a tablet restaurant, whose staff must accept it)',
    async () => {
      const seen = await newOrderOnBoard(false);
      assert.ok(seen.delayMs <= 1_000 && seen.lane === 'lane-placed', `${seen.restaurant}: the card showed ${seen.delayMs} ms after the 201, in lane ${seen.lane}`);
    },
  );

  it('a courier goes on shift on the courier page: its socket goes live and carries its positions, until it goes off shift', async () => {
    // Not one of the city's couriers, so no simulated app holds this courier's socket.
    const email = DEMO_CITY_ACCOUNTS.couriers.at(-1)!;
    const shift = async () => {
      const { rows } = await city.sql.query<{ on_shift: boolean; last_seen_at: Date | null }>(
        'SELECT c.on_shift, c.last_seen_at FROM couriers c JOIN users u ON u.id = c.user_id WHERE u.email = $1',
        [email],
      );
      return rows[0]!;
    };
    const page = await city.person();
    await city.signIn(page, '/courier', email);
    await page.getByRole('button', { name: 'Go on shift' }).click();
    await page.getByRole('button', { name: 'Go off shift' }).waitFor();
    await page.getByText('Courier link: Live').waitFor();
    assert.equal((await shift()).on_shift, true);
    const firstSeen = (await shift()).last_seen_at?.getTime() ?? 0;
    const deadline = Date.now() + 10_000;
    while (((await shift()).last_seen_at?.getTime() ?? 0) <= firstSeen && Date.now() < deadline) await sleep(250);
    assert.ok(((await shift()).last_seen_at?.getTime() ?? 0) > firstSeen, 'the page sends positions over its socket, and they are recorded');
    await page.getByRole('button', { name: 'Go off shift' }).click();
    await page.getByRole('button', { name: 'Go on shift' }).waitFor();
    assert.equal((await shift()).on_shift, false);
  });

  it('the ops dashboard’s courier dots move between two screenshots', async () => {
    const page = await city.person();
    await city.signIn(page, '/ops', DEMO_ACCOUNTS.admin);
    await page.locator('svg.map g[data-kind="restaurant"]').first().waitFor();
    await page.locator('svg.map g[data-kind="available"], svg.map g[data-kind="busy"]').first().waitFor();
    const first = await mapDots(page);
    await city.screenshot(page, 'dashboard-1');
    await sleep(3_000);
    const second = await mapDots(page);
    await city.screenshot(page, 'dashboard-2');

    const restaurants = (dots: typeof first) => new Map(dots.filter((d) => d.kind === 'restaurant').map((d) => [d.who, d]));
    const [r1, r2] = [restaurants(first), restaurants(second)];
    assert.deepEqual([r1.size, r2.size], [24, 24], 'every restaurant of the demo city is on the map, both times');
    // The map's bounds grow as couriers reach new ground, rescaling it; the restaurants, which never
    // move, give the rescaling, so a courier that stood still lands exactly where the map put it.
    const pairs = [...r2].map(([who, d]) => [r1.get(who)!, d] as const);
    const toX = rescaling(pairs.map(([a, b]) => [a.x, b.x]));
    const toY = rescaling(pairs.map(([a, b]) => [a.y, b.y]));
    const off = Math.max(...pairs.map(([a, b]) => Math.hypot(toX(a.x) - b.x, toY(a.y) - b.y)));
    assert.ok(off < 0.5, `the restaurants moved by up to ${off} map units beyond a rescaling`);

    const before = new Map(first.filter((d) => COURIER_KINDS.has(d.kind)).map((d) => [d.who, d]));
    const couriers = second.filter((d) => COURIER_KINDS.has(d.kind) && before.has(d.who));
    const moved = couriers.filter((d) => Math.hypot(d.x - toX(before.get(d.who)!.x), d.y - toY(before.get(d.who)!.y)) > 1);
    assert.ok(couriers.length >= 20, `couriers on the map in both: ${couriers.length}`);
    assert.ok(moved.length >= couriers.length / 2, `${moved.length} of ${couriers.length} courier dots moved in 3 s`);
    await page.context().close();
  });

  it('a reload mid-order resumes the tracking with every event once, and the order still arrives', async () => {
    const page = await city.person();
    await city.signIn(page, '/customer', DEMO_ACCOUNTS.customer);
    const orderId = await orderOnPage(page);
    assert.equal(await waitForStatus(page, /^Preparing$/, 30_000), 'Preparing');
    const beforeReload = await timeline(page);

    await page.reload();
    assert.equal(new URL(page.url()).searchParams.get('order'), orderId, 'the order stays in the address');
    await page.locator('ol.timeline > li').nth(beforeReload.length - 1).waitFor();
    const replayed = (await timeline(page)).slice(0, beforeReload.length);
    assert.deepEqual(replayed, beforeReload, 'the events seen before the reload, again, first, in the same words');

    assert.equal(await waitForStatus(page, FINAL_TEXT), 'Delivered');
    await city.screenshot(page, 'customer-after-reload-delivered');
    const events = await assertTimelineIsTheOrdersEvents(page, orderId, await city.token(DEMO_ACCOUNTS.customer));
    assert.ok(events.length > beforeReload.length, 'events came after the reload');
    assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
    await page.context().close();
  });

  describe('accessibility at phone width (360 px)', () => {
    const phone = { width: 360, height: 740 };
    const cases: { name: string; path: string; as?: string; ready: (p: Page) => Locator; main: (p: Page) => Locator[] }[] = [
      { name: 'landing', path: '/', ready: (p) => p.getByRole('link', { name: 'Order food', exact: true }), main: (p) => [p.getByRole('link', { name: 'Order food', exact: true })] },
      { name: 'sign-in', path: '/customer', ready: (p) => p.getByRole('button', { name: 'Sign in' }), main: (p) => [p.getByRole('button', { name: 'Sign in' })] },
      {
        name: 'customer',
        path: '/customer',
        as: DEMO_ACCOUNTS.customer,
        ready: (p) => p.getByRole('button', { name: /^Order from / }).first(),
        main: (p) => [p.getByRole('button', { name: 'Use my location' }), p.getByRole('button', { name: /^Order from / }).first(), p.getByRole('button', { name: 'Sign out' })],
      },
      {
        name: 'restaurant',
        path: '/restaurant',
        as: DEMO_ACCOUNTS.restaurant,
        ready: (p) => p.locator('.badge.link-open'),
        main: (p) => [p.getByLabel('Open for orders'), p.getByRole('button', { name: 'Download order history (CSV)' }), p.getByRole('button', { name: 'Sign out' })],
      },
      { name: 'ops', path: '/ops', as: DEMO_ACCOUNTS.admin, ready: (p) => p.locator('svg.map g[data-kind="restaurant"]').first(), main: (p) => [p.getByRole('button', { name: 'Sign out' })] },
      {
        name: 'courier',
        // A courier the city does not ride as: a second socket for one courier would take the city's over.
        path: '/courier',
        as: DEMO_CITY_ACCOUNTS.couriers.at(-1),
        ready: (p) => p.getByRole('button', { name: 'Go on shift', disabled: false }),
        main: (p) => [p.getByRole('button', { name: 'Go on shift' }), p.getByRole('radio', { name: 'Simulated route' })],
      },
    ];
    for (const c of cases) {
      it(`${c.name}: every control named, no sideways scroll, main controls reached by Tab`, async () => {
        const page = await city.person(phone);
        if (c.as) await city.signIn(page, c.path, c.as);
        else await page.goto(c.path);
        await c.ready(page).waitFor();
        await city.screenshot(page, `phone-${c.name}`);
        assert.deepEqual(await unnamedControls(page), [], 'controls without an accessible name');
        assert.ok((await scrollWidth(page)) <= phone.width, `laid out ${await scrollWidth(page)} px wide at ${phone.width}`);
        const main = c.main(page);
        const missed = await unreachableByTab(page, main);
        assert.deepEqual(missed.map((i) => String(main[i])), [], 'controls Tab never reached');
        await page.context().close();
      });
    }
  });
});

/** The globals the board test's observer uses, typed here: the project's types carry no DOM. */
interface BoardPage {
  __seen: Record<string, { at: number; lane: string }>;
  MutationObserver: new (fn: () => void) => { observe(target: unknown, opts: { childList: boolean; subtree: boolean }): void };
  document: { body: unknown; querySelectorAll(selector: string): Iterable<PageElement> };
}
interface PageElement {
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
}
