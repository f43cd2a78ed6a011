/**
 * A catalog that answers garbage changes nothing: the sync refuses the whole answer (`bad_response`),
 * the last synced menu stays, marked stale. And a sync asks at most MENU_SYNC_CONCURRENCY restaurants'
 * catalogs at once, each under its own deadline. The catalog here is a small `node:http` server that
 * answers whatever the test says, after a delay, and counts the calls in flight.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type Answer, FakePartner, type Received } from './fake-partner.ts';
import { type TestRestaurant, setup } from './helper.ts';
import { type CatalogItem, kitchen, menu, own, rowsDigest, sync } from './menu.helper.ts';

const DEADLINE_MS = 800;

/** The restaurant a catalog call is about. */
const restaurantOf = (req: Received) => /\/restaurants\/([^/]+)\/menu$/.exec(req.path)?.[1] ?? '';

const fake = await new FakePartner().start();
after(() => fake.close());
const CONCURRENCY = 3;
const faked = await setup({ background: false, env: { MENU_SYNC_DEADLINE_MS: String(DEADLINE_MS), PARTNER_BREAKER_THRESHOLD: '1000', CATALOG_URL: `${fake.url}/catalog`, MENU_SYNC_CONCURRENCY: String(CONCURRENCY) } });
const menuAnswer = (items: unknown[]) => ({ status: 200, body: { items, as_of: new Date().toISOString() } });
const listed = (r: TestRestaurant, changed: Record<number, Partial<CatalogItem>> = {}) => own(r, changed).map((i) => ({ available: true, ...i }));

describe('syncing menus from a catalog that answers badly', () => {
  const malformed: [string, (r: TestRestaurant) => Answer][] = [
    ['a price below zero', (r) => menuAnswer(listed(r, { 0: { price_cents: -5 } }))],
    ['an item without a name', (r) => menuAnswer([{ id: r.items[0]!.id, price_cents: 100, available: true }])],
    ['invalid JSON', () => ({ status: 200, body: '{"items": [' })],
    ['no as_of', (r) => ({ status: 200, body: { items: listed(r) } })],
    ['one item listed twice', (r) => menuAnswer([...listed(r), listed(r)[0]])],
    ['a price of zero', (r) => menuAnswer(listed(r, { 1: { price_cents: 0 } }))],
    ['a 404', () => ({ status: 404, body: { error: 'unknown restaurant' } })],
  ];
  for (const [what, answer] of malformed) {
    it(`changes nothing when the catalog answers ${what}, and marks the menu stale (bad_response)`, async () => {
      const { r } = await kitchen(faked);
      fake.delayMs = 0;
      fake.answer = () => menuAnswer(listed(r));
      assert.equal((await sync(faked, r)).ok, true);
      const before = await rowsDigest(faked, r);
      fake.answer = () => answer(r);
      assert.deepEqual(await sync(faked, r), { ok: false, error: 'bad_response' });
      assert.equal(await rowsDigest(faked, r), before);
      const stale = await menu(faked, r);
      assert.deepEqual([stale.stale, stale.sync_error], [true, 'bad_response']);
    });
  }

  it('asks the catalog for at most MENU_SYNC_CONCURRENCY restaurants at once, each under its own deadline', async () => {
    const kitchens = await Promise.all(Array.from({ length: 10 }, () => kitchen(faked, 1)));
    const hanging = kitchens[0]!.r;
    const answers = new Map(kitchens.map(({ r }) => [r.id, menuAnswer(listed(r, { 0: { price_cents: 7_700 } }))]));
    fake.answer = (req) => {
      const id = restaurantOf(req);
      return id === hanging.id ? 'hang' : (answers.get(id) ?? { status: 404, body: {} });
    };
    fake.delayMs = 100;
    fake.maxInFlight = 0;
    try {
      const started = performance.now();
      const summary = await faked.app.services.menuSync.syncRestaurants(kitchens.map(({ r }) => r.id));
      const elapsed = performance.now() - started;
      assert.equal(fake.maxInFlight, CONCURRENCY, `at most ${CONCURRENCY} catalog calls at once`);
      assert.deepEqual(summary.failed, [{ restaurant_id: hanging.id, error: 'timeout' }], 'the hanging one failed alone');
      assert.equal(summary.changed_items, 9);
      // 9 answers of 100 ms, 3 at a time, beside one slot held for the deadline: about 0.4 s + 0.8 s at worst.
      assert.ok(elapsed < DEADLINE_MS + 1_500, `took ${Math.round(elapsed)} ms`);
    } finally {
      fake.delayMs = 0;
    }
  });
});
