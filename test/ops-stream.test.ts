import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CENTER, createRestaurant, createUser, eventually, placeOrder, setup } from './helper.ts';
import { RawStream, listen } from './sse.helper.ts';

/** The one query a tick of the city sampler makes. */
const isCityQuery = (sql: string) => sql.startsWith('select "o"."id", "o"."status", "o"."courier_id", "r"."lat" as "restaurant_lat"');
let cityQueries = 0;
const ctx = await setup({ env: { LIVE_HEARTBEAT_MS: '1000' }, onQuery: (_ms, sql) => void (isCityQuery(sql) && cityQueries++) });
const base = await listen(ctx.app);
const [customer, owner, courier, admin] = await Promise.all((['customer', 'restaurant', 'courier', 'admin'] as const).map((role) => createUser(ctx, role)));
const restaurant = await createRestaurant(ctx, owner!);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const watch = () => new RawStream(`${base}/v1/ops/stream`, admin!.auth);

interface City {
  at: number;
  couriers: { id: string; lat: number; lng: number; state: string; at: number }[];
  orders: { id: string; status: string; courier_id: string | null; restaurant_lat: number; restaurant_lng: number; delivery_lat: number; delivery_lng: number }[];
}

describe('GET /v1/ops/stream', () => {
  it('is for admins only', async () => {
    for (const [who, headers, status] of [
      ['no token', {}, 401],
      ['a customer', customer!.auth, 403],
      ['a restaurant owner', owner!.auth, 403],
      ['a courier', courier!.auth, 403],
    ] as const) {
      const res = await fetch(`${base}/v1/ops/stream`, { headers });
      assert.equal(res.status, status, who);
      assert.match(String(res.headers.get('content-type')), /^application\/problem\+json/, who);
    }
  });

  it('sends the city and the server\'s health about once a second, from one sampler for every watcher', async () => {
    const order = await placeOrder(ctx, customer!, restaurant);
    const before = cityQueries;
    const watchers = [watch(), watch(), watch()];
    const started = Date.now();
    for (const s of watchers) await s.until('three samples', () => s.of('city').length >= 3, 15_000);
    const seconds = (Date.now() - started) / 1000;
    const ticks = cityQueries - before;
    // Three watchers, one query per tick between them.
    assert.ok(ticks <= Math.ceil(seconds) + 2, `${ticks} queries in ${seconds.toFixed(1)} s for 3 watchers`);
    const s = watchers[0]!;
    assert.ok(s.of('city').length <= Math.ceil(seconds) + 2, `${s.of('city').length} samples in ${seconds.toFixed(1)} s`);
    assert.ok(s.messages.filter((m) => !m.comment).every((m) => m.id === undefined), 'samples have no ids');

    const city = JSON.parse(s.of('city').at(-1)!.data) as City;
    const shown = city.orders.find((o) => o.id === order.id);
    assert.ok(shown, 'the order in flight is on the map');
    assert.equal(shown.status, 'placed');
    assert.ok(Math.abs(shown.delivery_lat - CENTER.lat) < 0.1 && Number.isFinite(shown.restaurant_lng));
    assert.ok(Array.isArray(city.couriers));

    const health = JSON.parse(s.of('health').at(-1)!.data) as {
      requests_per_second: number;
      event_loop: { delay_p99_ms: number; utilization: number };
      db_pool: { total: number };
      breakers: Record<string, string>;
      live_connections: Record<string, number>;
    };
    assert.equal(typeof health.requests_per_second, 'number');
    assert.ok(health.event_loop.utilization >= 0 && health.event_loop.utilization <= 1);
    assert.ok(health.db_pool.total >= 1);
    assert.ok(health.live_connections.ops_stream! >= 3, JSON.stringify(health.live_connections));

    // Nobody watching: the sampler stops.
    for (const w of watchers) w.close();
    await eventually('the watchers to be gone', async () => ctx.app.services.streams.counts().ops_stream === 0);
    await sleep(300);
    const idle = cityQueries;
    await sleep(2_500);
    assert.equal(cityQueries, idle, 'no sampling without watchers');
  });

  it('shows couriers on shift, from the courier directory', async () => {
    const res = await ctx.app.inject({ method: 'POST', url: '/v1/courier/shift', headers: courier!.auth, payload: { online: true, ...CENTER } });
    assert.equal(res.statusCode, 200, res.body);
    const s = watch();
    await s.until('the courier on the map', () =>
      s.of('city').some((m) => (JSON.parse(m.data) as City).couriers.some((c) => c.id === courier!.id && c.state === 'available')),
    );
    s.close();
  });
});
