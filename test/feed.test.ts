import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { offset, type Point } from '../src/domain/geo.ts';
import { CENTER, type TestRestaurant, createRestaurant, createUser, databaseDigest, setup } from './helper.ts';

const DEADLINE_MS = 400;
const MAX_RESTAURANTS = 4;
/** A bound on "answered at about the deadline", not a benchmark: the slow partner takes ~2000 ms. */
const SLACK_MS = 1000;

const ctx = await setup({ env: { FEED_DEADLINE_MS: String(DEADLINE_MS), FEED_RESTAURANTS: String(MAX_RESTAURANTS) } });

interface FeedEntry {
  restaurant: { id: string; name: string; distance_km: number; is_open: boolean; prep_minutes: number };
  menu: { stale: boolean; as_of: string; highlights: { id: string; name: string; price_cents: number }[] } | null;
  menu_error?: string;
  eta_minutes: number | null;
  eta_error?: string;
}
interface Feed {
  items: FeedEntry[];
  partial: boolean;
  generated_at: string;
}

/** Every test works in its own neighbourhood, far outside the 15 km search radius of the others. */
let neighbourhoods = 0;
function neighbourhood(): Point {
  neighbourhoods++;
  return offset(CENTER, (neighbourhoods * 73) % 360, 60 * neighbourhoods);
}

/**
 * A fixed live menu in the catalog simulator (no price drift, every item available) listing the
 * restaurant's own dishes under their catalog ids, and synced into dabba: the feed shows dishes as
 * dabba's synced menu holds them, so that it can be ordered at the price shown.
 */
async function liveMenu(r: TestRestaurant, names: string[]) {
  const items = r.items.map((item, i) => ({ id: item.id, name: names[i]!, price_cents: 9_000 + i * 1_000 }));
  await ctx.sim.control('PUT', `/catalog/restaurants/${r.id}`, { items, drift: false });
  await ctx.app.services.menuSync.syncRestaurants([r.id]);
  return items;
}

async function getFeed(at: Point) {
  const started = performance.now();
  const res = await ctx.app.inject({ method: 'GET', url: `/v1/feed?lat=${at.lat}&lng=${at.lng}` });
  return { res, elapsed: performance.now() - started };
}

async function feedOk(at: Point): Promise<{ feed: Feed; elapsed: number }> {
  const { res, elapsed } = await getFeed(at);
  assert.equal(res.statusCode, 200, res.body);
  return { feed: res.json() as Feed, elapsed };
}

async function restaurantAt(at: Point, bearing: number, km: number, opts: { isOpen?: boolean; radiusKm?: number } = {}) {
  const owner = await createUser(ctx, 'restaurant');
  return createRestaurant(ctx, owner, { at: offset(at, bearing, km), ...opts });
}

describe('home feed', () => {
  it('lists at most FEED_RESTAURANTS of the nearest open restaurants that deliver here, nearest first, with live highlights and an ETA', async () => {
    await ctx.sim.fast();
    const here = neighbourhood();
    const open = [];
    for (const km of [1, 2, 3, 4, 5, 6]) open.push(await restaurantAt(here, km * 50, km));
    const closed = await restaurantAt(here, 10, 0.5, { isOpen: false });
    const tooFar = await restaurantAt(here, 200, 0.8, { radiusKm: 0.5 }); // nearer than all open ones, but does not deliver here
    const menus = new Map<string, { id: string; name: string; price_cents: number }[]>();
    for (const r of [...open, closed, tooFar]) menus.set(r.id, await liveMenu(r, ['Vada Pav', 'Misal', 'Poha', 'Sabudana Khichdi']));

    const { feed } = await feedOk(here);

    const ids = feed.items.map((i) => i.restaurant.id);
    assert.deepEqual(ids, open.slice(0, MAX_RESTAURANTS).map((r) => r.id), 'the nearest four open restaurants delivering here, in order');
    assert.ok(!ids.includes(closed.id), 'a closed restaurant is not in the feed');
    assert.ok(!ids.includes(tooFar.id), 'a restaurant whose delivery radius does not reach here is not in the feed');
    assert.equal(feed.partial, false);
    for (const entry of feed.items) {
      assert.equal(entry.restaurant.is_open, true);
      assert.ok(entry.menu, `menu for ${entry.restaurant.id}`);
      assert.equal(entry.menu.stale, false);
      assert.equal(entry.menu_error, undefined);
      assert.deepEqual(entry.menu.highlights, menus.get(entry.restaurant.id)!.slice(0, 3), 'the first three available live items, synced');
      assert.ok(Number.isInteger(entry.eta_minutes), `eta for ${entry.restaurant.id}: ${entry.eta_minutes}`);
      // The ETA sim adds the prep time to ~3 min per km at 20 km/h (±10%).
      const km = entry.restaurant.distance_km;
      assert.ok(entry.eta_minutes! >= entry.restaurant.prep_minutes + Math.floor(km * 3 * 0.9) - 1, `eta ${entry.eta_minutes} for ${km} km`);
      assert.ok(entry.eta_minutes! <= entry.restaurant.prep_minutes + Math.ceil(km * 3 * 1.1) + 1, `eta ${entry.eta_minutes} for ${km} km`);
      assert.equal(entry.eta_error, undefined);
    }
    const distances = feed.items.map((i) => i.restaurant.distance_km);
    assert.deepEqual([...distances].sort((a, b) => a - b), distances);
  });

  it('takes the highlights from the live catalog: its first three items available now, in its order', async () => {
    await ctx.sim.fast();
    const here = neighbourhood();
    const owner = await createUser(ctx, 'restaurant');
    const r = await createRestaurant(ctx, owner, { at: offset(here, 90, 1), items: 5 });
    // The catalog lists the dishes in its own order, the second of them unavailable.
    const live = [...r.items].reverse().map((item, i) => ({ id: item.id, name: item.name, price_cents: item.price_cents, available: i !== 1 }));
    await ctx.sim.control('PUT', `/catalog/restaurants/${r.id}`, { items: live, drift: false });
    await ctx.app.services.menuSync.syncRestaurants([r.id]);
    const { feed } = await feedOk(here);
    assert.equal(feed.items.length, 1);
    const expected = live.filter((i) => i.available).slice(0, 3).map(({ id, name, price_cents }) => ({ id, name, price_cents }));
    assert.deepEqual(feed.items[0]!.menu!.highlights, expected);
  });

  it('answers an empty, complete feed where nothing delivers', async () => {
    await ctx.sim.fast();
    const { feed } = await feedOk(neighbourhood());
    assert.deepEqual(feed.items, []);
    assert.equal(feed.partial, false);
  });

  for (const [query, why] of [
    ['lat=91&lng=72.8', 'a latitude above 90'],
    ['lat=19.07&lng=-181', 'a longitude below -180'],
    ['lat=abc&lng=72.8', 'a latitude that is not a number'],
    ['lat=19.07', 'a missing longitude'],
    ['', 'no coordinates at all'],
  ]) {
    it(`answers 400 problem+json for ${why}`, async () => {
      const res = await ctx.app.inject({ method: 'GET', url: `/v1/feed?${query}` });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const problem = res.json() as { status: number; title: string };
      assert.equal(problem.status, 400);
      assert.equal(typeof problem.title, 'string');
    });
  }

  it('writes nothing to the database', async () => {
    await ctx.sim.fast();
    const here = neighbourhood();
    await restaurantAt(here, 0, 1);
    await restaurantAt(here, 120, 2);
    const before = await databaseDigest(ctx.sql);
    const { feed } = await feedOk(here);
    assert.equal(feed.items.length, 2);
    assert.equal(await databaseDigest(ctx.sql), before);
  });

  for (const catalogMode of ['hang', 'down'] as const) {
    it(`with the catalog ${catalogMode === 'hang' ? 'hanging' : 'down'} and the ETA model slow, still answers 200 at about the deadline with every restaurant marked`, async () => {
      await ctx.sim.fast();
      const here = neighbourhood();
      const seen = [await restaurantAt(here, 30, 1), await restaurantAt(here, 150, 2)];
      const warm = await feedOk(here);
      assert.equal(warm.feed.partial, false, 'the warming call is complete');
      const warmMenus = new Map(warm.feed.items.map((i) => [i.restaurant.id, i.menu]));
      const unseen = await restaurantAt(here, 270, 3); // created after warming: no last good menu

      await ctx.sim.set('catalog', { mode: catalogMode });
      await ctx.sim.set('eta', { median_ms: 2000, p99_ms: 4000 });
      try {
        const { feed, elapsed } = await feedOk(here);
        assert.ok(elapsed < DEADLINE_MS + SLACK_MS, `answered in ${Math.round(elapsed)} ms; the deadline is ${DEADLINE_MS} ms`);
        assert.deepEqual(feed.items.map((i) => i.restaurant.id), [...seen, unseen].map((r) => r.id), 'every restaurant is still listed');
        assert.equal(feed.partial, true);
        for (const entry of feed.items) {
          const id = entry.restaurant.id;
          if (id === unseen.id) {
            assert.equal(entry.menu, null, 'a menu never fetched before has nothing to fall back on');
          } else {
            assert.ok(entry.menu, `a stale menu for ${id}`);
            assert.equal(entry.menu.stale, true);
            assert.deepEqual({ ...entry.menu, stale: false }, warmMenus.get(id), 'the last good menu, unchanged');
          }
          if (catalogMode === 'hang') {
            // Cut by the feed's own deadline, before the catalog's 600 ms per-attempt timeout.
            assert.equal(entry.menu_error, 'aborted', `menu_error for ${id}`);
          } else {
            // Refused connections fail fast; a slow machine may still reach the deadline between retries.
            assert.match(entry.menu_error ?? '', /^(unavailable|breaker_open|aborted)$/, `menu_error for ${id}`);
          }
          assert.equal(entry.eta_minutes, null, `eta for ${id}`);
          // Cut by the feed's deadline, before the ETA client's 500 ms per-attempt timeout.
          assert.equal(entry.eta_error, 'aborted', `eta_error for ${id}`);
        }
      } finally {
        await ctx.sim.fast();
      }
    });
  }

  it('recovers once the partners answer again: fresh menus, ETAs, partial false', async () => {
    await ctx.sim.fast();
    const here = neighbourhood();
    await restaurantAt(here, 45, 1);
    await ctx.sim.set('catalog', { mode: 'down' });
    const degraded = await feedOk(here);
    assert.equal(degraded.feed.partial, true);
    assert.equal(degraded.feed.items[0]!.menu, null);
    await ctx.sim.fast();
    // The catalog circuit breaker may still be open for a few seconds after the outage.
    const { feed } = await feedOk(here).then(async (first) => {
      const deadline = Date.now() + 15_000;
      let current = first;
      while (current.feed.partial && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        current = await feedOk(here);
      }
      return current;
    });
    assert.equal(feed.partial, false);
    assert.equal(feed.items[0]!.menu!.stale, false);
    assert.equal(feed.items[0]!.menu_error, undefined);
    assert.equal(typeof feed.items[0]!.eta_minutes, 'number');
  });
});
