/**
 * The catalog partner is each restaurant's menu system; `menu_items` is dabba's synced copy. A sync
 * brings the catalog's names, prices and availability in (the newer change wins over an owner's
 * edit), and a catalog that is down, slow or hanging changes nothing: the last synced menu stays,
 * marked stale. Most tests drive the sync through the service; the last ones run it as the
 * scheduled pg-boss job does. Malformed answers: menu-sync.malformed.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TestRestaurant, createUser, eventually, setup } from './helper.ts';
import { changes, kitchen, menu, order, own, rowsDigest, setCatalog, sync } from './menu.helper.ts';

const DEADLINE_MS = 800;
// Partner calls that fail here must not open the catalog's breaker for the tests after them.
const ctx = await setup({ background: false, env: { MENU_SYNC_DEADLINE_MS: String(DEADLINE_MS), PARTNER_BREAKER_THRESHOLD: '1000' } });

describe('syncing menus from the catalog', () => {
  it("brings in the catalog's names, prices and availability, adds new dishes, marks vanished ones unavailable, and records every change", async () => {
    const { r } = await kitchen(ctx);
    const [first, second, gone] = r.items as [TestRestaurant['items'][0], TestRestaurant['items'][0], TestRestaurant['items'][0]];
    await setCatalog(ctx, r, [
      { id: first.id, name: 'Masala Dosa', price_cents: 11_000 },
      { id: second.id, name: second.name, price_cents: second.price_cents, available: false },
      { id: 'coffee-1', name: 'Filter Coffee', price_cents: 4_000 },
    ]);
    assert.deepEqual(await sync(ctx, r), { ok: true, changes: 7 });

    const synced = await menu(ctx, r);
    assert.equal(synced.stale, false);
    assert.equal(synced.sync_error, null);
    assert.ok(synced.synced_at && Date.now() - Date.parse(synced.synced_at) < 60_000, `synced_at ${synced.synced_at}`);
    const byId = new Map(synced.items.map((i) => [i.id, i]));
    assert.deepEqual(
      [first, second, gone].map((d) => { const i = byId.get(d.id)!; return [i.name, i.price_cents, i.is_available]; }),
      [['Masala Dosa', 11_000, true], [second.name, second.price_cents, false], [gone.name, gone.price_cents, false]],
      'the vanished dish is still on the menu (orders reference it), unavailable',
    );
    const coffee = synced.items.find((i) => i.name === 'Filter Coffee');
    assert.ok(coffee, 'the new dish is on the menu');
    assert.match(coffee.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual([coffee.price_cents, coffee.is_available], [4_000, true]);
    assert.equal(byId.get(gone.id)!.synced_at, null, 'a dish the catalog does not list was not seen by the sync');
    assert.ok(byId.get(first.id)!.synced_at);

    assert.deepEqual(
      (await changes(ctx, r)).map((c) => [c.catalog_item_id, c.field, c.old_value, c.new_value, c.source]),
      [
        [first.id, 'name', first.name, 'Masala Dosa', 'catalog'],
        [first.id, 'price_cents', first.price_cents, 11_000, 'catalog'],
        [second.id, 'is_available', true, false, 'catalog'],
        [gone.id, 'is_available', true, false, 'catalog'],
        ['coffee-1', 'is_available', null, true, 'catalog'],
        ['coffee-1', 'name', null, 'Filter Coffee', 'catalog'],
        ['coffee-1', 'price_cents', null, 4_000, 'catalog'],
      ],
    );

    const before = await changes(ctx, r);
    assert.deepEqual(await sync(ctx, r), { ok: true, changes: 0 }, 'the same catalog again changes nothing');
    assert.equal((await changes(ctx, r)).length, before.length);

    const customer = await createUser(ctx, 'customer');
    const placed = await order(ctx, customer, r, [{ menu_item_id: coffee.id, quantity: 1 }]);
    assert.equal(placed.statusCode, 201, placed.body);
    assert.equal((placed.json() as { items: { unit_price_cents: number }[] }).items[0]!.unit_price_cents, 4_000);
    const refused = await order(ctx, customer, r, [{ menu_item_id: gone.id, quantity: 1 }]);
    assert.equal(refused.statusCode, 422, refused.body);
    assert.deepEqual((refused.json() as { errors: unknown[] }).errors, [{ field: 'body/items/0/menu_item_id', message: 'currently unavailable' }]);
  });

  it("carries a catalog price drift into the menu and the next order's total", async () => {
    const { r } = await kitchen(ctx);
    const item = r.items[0]!;
    await setCatalog(ctx, r, own(r));
    await sync(ctx, r);
    await setCatalog(ctx, r, own(r, { 0: { price_cents: 13_300 } }));
    await sync(ctx, r);

    assert.equal((await menu(ctx, r)).items.find((i) => i.id === item.id)!.price_cents, 13_300);
    const customer = await createUser(ctx, 'customer');
    const res = await order(ctx, customer, r, [{ menu_item_id: item.id, quantity: 2 }]);
    assert.equal(res.statusCode, 201, res.body);
    const placed = res.json() as { subtotal_cents: number; delivery_fee_cents: number; total_cents: number; items: { unit_price_cents: number }[] };
    assert.equal(placed.items[0]!.unit_price_cents, 13_300);
    assert.equal(placed.subtotal_cents, 26_600);
    assert.equal(placed.total_cents, 26_600 + placed.delivery_fee_cents);
  });

  it("keeps an owner's edit until the catalog itself changes that field", async () => {
    const { owner, r } = await kitchen(ctx);
    const [priced, hidden] = r.items as [TestRestaurant['items'][0], TestRestaurant['items'][0]];
    await setCatalog(ctx, r, own(r));
    await sync(ctx, r);
    const patch = (itemId: string, body: object) =>
      ctx.app.inject({ method: 'PATCH', url: `/v1/restaurants/${r.id}/menu/${itemId}`, headers: owner.auth, payload: body });
    assert.equal((await patch(priced.id, { price_cents: 9_000 })).statusCode, 200);
    assert.equal((await patch(hidden.id, { is_available: false })).statusCode, 200);

    await sync(ctx, r);
    let items = new Map((await menu(ctx, r)).items.map((i) => [i.id, i]));
    assert.equal(items.get(priced.id)!.price_cents, 9_000, "the catalog's unchanged price does not undo the owner's");
    assert.equal(items.get(hidden.id)!.is_available, false, "the catalog's unchanged availability does not undo the owner's");
    const customer = await createUser(ctx, 'customer');
    const refused = await order(ctx, customer, r, [{ menu_item_id: hidden.id, quantity: 1 }]);
    assert.equal(refused.statusCode, 422, "checkout's live look at the catalog follows the same rule");

    await setCatalog(ctx, r, own(r, { 0: { price_cents: 10_500 }, 1: { available: false } }));
    await sync(ctx, r);
    await setCatalog(ctx, r, own(r, { 0: { price_cents: 10_500 } }));
    await sync(ctx, r);
    items = new Map((await menu(ctx, r)).items.map((i) => [i.id, i]));
    assert.equal(items.get(priced.id)!.price_cents, 10_500, 'the catalog changed the price: the newer change wins');
    assert.equal(items.get(hidden.id)!.is_available, true, 'the catalog made it available again: the newer change wins');

    const recorded = (await changes(ctx, r)).map((c) => [c.catalog_item_id, c.field, c.old_value, c.new_value, c.source, c.actor_id]);
    assert.deepEqual(recorded, [
      [priced.id, 'price_cents', priced.price_cents, 9_000, 'owner', owner.id],
      [hidden.id, 'is_available', true, false, 'owner', owner.id],
      [priced.id, 'price_cents', 9_000, 10_500, 'catalog', null],
      [hidden.id, 'is_available', false, true, 'catalog', null],
    ]);
  });

  for (const [fault, settings, kinds] of [
    ['down', { mode: 'down' }, /^(unavailable|breaker_open)$/],
    ['hanging', { mode: 'hang' }, /^timeout$/],
    ['slow', { median_ms: 3_000, p99_ms: 4_000 }, /^timeout$/],
  ] as const) {
    it(`when the catalog is ${fault}, a sync changes nothing, within its deadline, and the menu reads stale until a sync succeeds`, async () => {
      const { r } = await kitchen(ctx);
      await ctx.sim.fast();
      await setCatalog(ctx, r, own(r));
      await sync(ctx, r);
      const { synced_at } = await menu(ctx, r);
      const before = await rowsDigest(ctx, r);
      await setCatalog(ctx, r, own(r, { 0: { price_cents: 20_000 } }));

      await ctx.sim.set('catalog', settings);
      try {
        const started = performance.now();
        const result = await sync(ctx, r);
        const elapsed = performance.now() - started;
        assert.equal(result.ok, false);
        assert.match(!result.ok ? result.error : '', kinds);
        assert.ok(elapsed < DEADLINE_MS + 1_000, `gave up after ${Math.round(elapsed)} ms; the deadline is ${DEADLINE_MS} ms`);
        assert.equal(await rowsDigest(ctx, r), before, 'the menu rows are exactly as they were');
        const stale = await menu(ctx, r);
        assert.equal(stale.stale, true);
        assert.match(stale.sync_error ?? '', kinds);
        assert.equal(stale.synced_at, synced_at, 'synced_at is the last successful sync');
      } finally {
        await ctx.sim.fast();
      }
      assert.deepEqual(await sync(ctx, r), { ok: true, changes: 1 }, 'the next sync after the catalog recovers');
      const fresh = await menu(ctx, r);
      assert.deepEqual([fresh.stale, fresh.sync_error], [false, null]);
      assert.equal(fresh.items.find((i) => i.id === r.items[0]!.id)!.price_cents, 20_000);
    });
  }

  it('reads a menu as stale when its last successful sync is older than MENU_STALE_AFTER_MS', async () => {
    const { r } = await kitchen(ctx);
    assert.equal((await menu(ctx, r)).stale, true, 'never synced');
    await setCatalog(ctx, r, own(r));
    await sync(ctx, r);
    assert.equal((await menu(ctx, r)).stale, false);
    await ctx.sql.query(`UPDATE restaurants SET menu_synced_at = now() - interval '4 minutes' WHERE id = $1`, [r.id]);
    const old = await menu(ctx, r);
    assert.deepEqual([old.stale, old.sync_error], [true, null]);
  });
});

// ---------------------------------------------------------------------------------------------
// The sync as a pg-boss job: scheduled, and asked for by a feed that sees the catalog move on.

const CRON = '*/30 * * * *';
const jobs = await setup({ env: { MENU_SYNC_CRON: CRON, JOB_POLL_INTERVAL_MS: '500' } });

describe('the menu sync job', () => {
  it('is scheduled with MENU_SYNC_CRON, one schedule in the database whichever node wrote it', async () => {
    const { rows } = await jobs.sql.query<{ cron: string }>(`SELECT cron FROM pgboss.schedule WHERE name = 'menu_sync'`);
    assert.deepEqual(rows, [{ cron: CRON }]);
  });

  it('runs when a feed sees the live menu move on from the synced copy, and shows on /metrics', async () => {
    const { r } = await kitchen(jobs);
    const item = r.items[0]!;
    await setCatalog(jobs, r, own(r));
    await jobs.app.services.menuSync.syncRestaurant(r.id);
    await setCatalog(jobs, r, own(r, { 0: { price_cents: 12_345 } }));

    const res = await jobs.app.inject({ url: `/v1/feed?lat=${19.076}&lng=${72.8777}` });
    assert.equal(res.statusCode, 200, res.body);
    const shown = (res.json() as { items: { restaurant: { id: string }; menu: { highlights: { id: string; price_cents: number }[] } }[] }).items
      .find((e) => e.restaurant.id === r.id)!.menu.highlights.find((h) => h.id === item.id);
    assert.equal(shown?.price_cents, item.price_cents, 'the feed shows the synced price, the one checkout charges');

    await eventually('the requested sync to bring the new price in', async () =>
      (await menu(jobs, r)).items.find((i) => i.id === item.id)!.price_cents === 12_345,
    );
    const metrics = (await jobs.app.inject({ url: '/metrics' })).body;
    assert.match(metrics, /dabba_jobs_queued\{queue="menu_sync"\} \d+/);
    assert.match(metrics, /dabba_menu_sync_changes_total\{field="price_cents"\} [1-9]/);
    assert.match(metrics, /dabba_menu_sync_duration_seconds_count [1-9]/);
  });
});
