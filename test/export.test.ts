import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import { build } from '../src/app.ts';
import { csvObjects } from './csv.helper.ts';
import { type SeededOrder, busyExportConnections, pausedDownload, seedManyOrders, seedOrder } from './export.helper.ts';
import { type Actor, type TestRestaurant, createRestaurant, createUser, databaseDigest, eventually, partnerEnv, setup, testConfig } from './helper.ts';
import { LogCollector } from './ops.helper.ts';

const log = new LogCollector();
// Two exports at once, and no wait for a third: the limit answers at once.
const ctx = await setup({ background: false, logStream: log, env: { LOG_LEVEL: 'error', EXPORT_MAX_CONCURRENT: '2', ADMISSION_MAX_WAIT_MS: '0' } });
await ctx.app.listen({ port: 0, host: '127.0.0.1' });
const { port } = ctx.app.server.address() as { port: number };
const base = `http://127.0.0.1:${port}`;

const exportUrl = (restaurantId: string, query = '') => `${base}/v1/restaurants/${restaurantId}/orders/export${query ? `?${query}` : ''}`;
const download = (who: Actor | undefined, restaurantId: string, query = '') => fetch(exportUrl(restaurantId, query), { headers: who ? who.auth : {} });

const WINDOW = 'from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z';

const [owner, otherOwner, admin, customer, courier] = (await Promise.all(
  (['restaurant', 'restaurant', 'admin', 'customer', 'courier'] as const).map((role) => createUser(ctx, role)),
)) as [Actor, Actor, Actor, Actor, Actor];
const restaurant = await createRestaurant(ctx, owner);
/** The restaurant's orders in WINDOW, oldest first. */
const orders: SeededOrder[] = [
  await seedOrder(ctx, customer, restaurant, {
    createdAt: '2026-11-02T09:00:00.125Z',
    address: '=HYPERLINK("http://evil.example","Flat 4"), "Sea View",\nMarine Drive',
    lines: [
      { name: '=1+2 "Special", spicy', quantity: 2, unit_price_cents: 24_900 },
      { name: 'Butter Naan', quantity: 3, unit_price_cents: 4_500 },
    ],
  }),
  await seedOrder(ctx, customer, restaurant, {
    createdAt: '2026-11-15T18:30:00Z',
    address: '@cmd, -3 Colaba Causeway\r\nMumbai',
    status: 'cancelled',
    paymentState: 'voided',
    reason: '+ out of stock',
  }),
  // Two orders at the same instant: listed by id after created_at.
  await seedOrder(ctx, customer, restaurant, { createdAt: '2026-11-20T12:00:00Z', id: 'ffffffff-0000-4000-8000-000000000001' }),
  await seedOrder(ctx, customer, restaurant, { createdAt: '2026-11-20T12:00:00Z', id: '00000000-0000-4000-8000-000000000002' }),
].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id));
// Outside the window on both sides, its end excluded.
await seedOrder(ctx, customer, restaurant, { createdAt: '2026-10-31T23:59:59.999Z' });
await seedOrder(ctx, customer, restaurant, { createdAt: '2026-12-01T00:00:00Z' });
// Another restaurant's order inside the window.
await seedOrder(ctx, customer, await createRestaurant(ctx, otherOwner), { createdAt: '2026-11-10T00:00:00Z' });

const neutral = (text: string) => (/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);

describe('an owner downloads their orders', () => {
  it('as CSV that parses back to the orders as stored, text that would be a formula made inert', async () => {
    const res = await download(owner, restaurant.id, WINDOW);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(
      res.headers.get('content-disposition'),
      `attachment; filename="orders-${restaurant.id}-20261101T000000Z-20261201T000000Z.csv"`,
    );
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const text = await res.text();
    assert.ok(text.startsWith('order_id,created_at,status,'), text.slice(0, 80));
    const rows = csvObjects(text);
    assert.deepEqual(
      rows,
      orders.map((o) => ({
        order_id: o.id,
        created_at: o.created_at,
        status: o.status,
        payment_state: o.payment_state,
        currency: 'INR',
        subtotal_cents: String(o.subtotal_cents),
        delivery_fee_cents: String(o.delivery_fee_cents),
        total_cents: String(o.total_cents),
        item_count: String(o.lines.reduce((n, l) => n + l.quantity, 0)),
        items: o.lines.map((l) => `${l.quantity} x ${l.name}`).join('; '),
        delivery_address: neutral(o.delivery_address),
        status_reason: o.status_reason === null ? '' : neutral(o.status_reason),
      })),
    );
    assert.equal(rows[0]!.delivery_address, `'=HYPERLINK("http://evil.example","Flat 4"), "Sea View",\nMarine Drive`);
    assert.equal(rows[1]!.status_reason, "'+ out of stock");
  });

  it('as NDJSON: one object per line with the same orders, items listed, text untouched', async () => {
    const res = await download(owner, restaurant.id, `${WINDOW}&format=ndjson`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    assert.match(res.headers.get('content-disposition') ?? '', /filename="orders-[0-9a-f-]+-20261101T000000Z-20261201T000000Z\.ndjson"$/);
    const text = await res.text();
    assert.ok(text.endsWith('\n'));
    const lines = text.slice(0, -1).split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      lines,
      orders.map((o) => ({
        order_id: o.id,
        created_at: o.created_at,
        status: o.status,
        payment_state: o.payment_state,
        currency: 'INR',
        subtotal_cents: o.subtotal_cents,
        delivery_fee_cents: o.delivery_fee_cents,
        total_cents: o.total_cents,
        item_count: o.lines.reduce((n, l) => n + l.quantity, 0),
        items: o.lines.map((l) => ({ ...l, line_total_cents: l.quantity * l.unit_price_cents })),
        delivery_address: o.delivery_address,
        status_reason: o.status_reason,
      })),
    );
  });

  it('for the window asked: from inclusive, to exclusive, oldest first', async () => {
    const ids = async (query: string) => csvObjects(await (await download(owner, restaurant.id, query)).text()).map((r) => r.order_id);
    assert.deepEqual(await ids('from=2026-11-15T18:30:00Z&to=2026-11-20T12:00:00Z'), [orders[1]!.id]);
    assert.deepEqual(await ids('from=2026-11-15T18:30:00.001Z&to=2026-11-20T12:00:00.001Z'), [orders[2]!.id, orders[3]!.id]);
    // An offset other than Z names the same instants.
    assert.deepEqual(await ids('from=2026-11-02T14:30:00.125%2B05:30&to=2026-11-02T14:30:00.126%2B05:30'), [orders[0]!.id]);
    // An empty window is a header alone.
    const empty = await (await download(owner, restaurant.id, 'from=2026-11-05T00:00:00Z&to=2026-11-05T00:00:00Z')).text();
    assert.equal(empty, `${empty.split('\r\n')[0]}\r\n`);
  });

  it('for the last 30 days when no window is given, or the 30 days before `to`', async () => {
    const kitchen = await createRestaurant(ctx, owner);
    const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    const recent = await seedOrder(ctx, customer, kitchen, { createdAt: daysAgo(29) });
    const older = await seedOrder(ctx, customer, kitchen, { createdAt: daysAgo(31) });
    const ids = async (query?: string) => csvObjects(await (await download(owner, kitchen.id, query)).text()).map((r) => r.order_id);
    assert.deepEqual(await ids(), [recent.id]);
    assert.deepEqual(await ids(`to=${daysAgo(30)}`), [older.id]);
  });
});

describe('who may download', () => {
  it('an admin, any restaurant', async () => {
    const res = await download(admin, restaurant.id, WINDOW);
    assert.equal(res.status, 200);
    assert.equal(csvObjects(await res.text()).length, orders.length);
  });

  it("not another owner: someone else's restaurant, like an unknown one, is a 404", async () => {
    for (const id of [restaurant.id, '00000000-0000-4000-8000-00000000beef']) {
      const res = await download(id === restaurant.id ? otherOwner : owner, id, WINDOW);
      assert.equal(res.status, 404);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal(((await res.json()) as { type: string }).type, 'https://dabba.dev/problems/not-found');
    }
  });

  it('not a customer or a courier (403), nor anyone without a token (401)', async () => {
    for (const [who, status] of [[customer, 403], [courier, 403], [undefined, 401]] as const) {
      const res = await download(who, restaurant.id, WINDOW);
      assert.equal(res.status, status);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal(((await res.json()) as { status: number }).status, status);
    }
  });
});

describe('a bad query', () => {
  it('is a 400 problem naming the field, and changes nothing', async () => {
    const digest = await databaseDigest(ctx.sql);
    const cases: [string, string][] = [
      ['from=yesterday', 'querystring/from'],
      ['to=2026-11-01', 'querystring/to'],
      ['from=2026-11-01T00:00:00', 'querystring/from'],
      ['from=2026-02-30T00:00:00Z', 'querystring/from'],
      ['to=2026-06-30T23:59:60Z', 'querystring/to'],
      ['from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z', 'querystring/from'],
      ['from=2099-01-01T00:00:00Z', 'querystring/from'],
      ['format=xlsx', 'querystring/format'],
      [`${WINDOW}&from=2026-10-01T00:00:00Z`, 'querystring/from'],
    ];
    for (const [query, field] of cases) {
      const res = await download(owner, restaurant.id, query);
      assert.equal(res.status, 400, query);
      assert.equal(res.headers.get('content-type'), 'application/problem+json', query);
      const problem = (await res.json()) as { errors?: { field: string }[] };
      assert.equal(problem.errors?.[0]?.field, field, `${query}: ${JSON.stringify(problem)}`);
    }
    const badId = await download(owner, 'not-a-uuid', WINDOW);
    assert.equal(badId.status, 400);
    assert.equal(await databaseDigest(ctx.sql), digest);
  });
});

it('is in the OpenAPI document, its query described and its answer as CSV or NDJSON text', async () => {
  const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const op = doc.paths['/v1/restaurants/{id}/orders/export'].get;
  assert.deepEqual(op.parameters.filter((p: { in: string }) => p.in === 'query').map((p: { name: string }) => p.name).sort(), ['format', 'from', 'to']);
  assert.deepEqual(Object.keys(op.responses['200'].content).sort(), ['application/x-ndjson', 'text/csv']);
  assert.equal(op.responses['200'].content['text/csv'].schema.type, 'string');
  for (const status of ['400', '401', '403', '404', '503']) assert.ok(op.responses[status], status);
});

describe('a large export', () => {
  /** Enough rows (about 20 MB of CSV) that an export is still streaming when its client stops reading. */
  const ROWS = 200_000;
  let big: TestRestaurant;
  before(async () => {
    big = await createRestaurant(ctx, owner);
    await seedManyOrders(ctx, customer, big, ROWS);
  });
  const start = () => pausedDownload(exportUrl(big.id), owner.auth);
  const busy = (n: number) => eventually(`${n} busy export connection(s)`, async () => ((await busyExportConnections(ctx)).length === n ? busyExportConnections(ctx) : undefined), 10_000);

  it('waits for a client that stops reading, its query open, and frees the connection within a second of a hang-up', async () => {
    const d = start();
    assert.equal((await d.head).statusCode, 200);
    const read = await d.readSome(4 * 1024);
    // The client reads nothing more: the server stops with its cursor open, not having read the rest into memory.
    await busy(1);
    await sleep(500);
    assert.equal((await busyExportConnections(ctx)).length, 1, 'the export is still mid-stream');
    const { rows } = await ctx.sql.query<{ query: string }>(`SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dabba-export' AND state <> 'idle'`);
    assert.match(rows[0]!.query, /from "orders" as "o"/);
    d.cut();
    await eventually('the export connection to be freed', async () => (await busyExportConnections(ctx)).length === 0, 1_000);
    const result = await d.done;
    assert.equal(result.complete, false);
    assert.ok(read < 20 * 1024 * 1024);
    // The connection went back to the pool healthy: the next export runs on it.
    assert.equal((await download(owner, restaurant.id, WINDOW)).status, 200);
  });

  it('refuses an export past EXPORT_MAX_CONCURRENT with 503 and Retry-After, and takes one again once one ends', async () => {
    const held = [start(), start()];
    for (const d of held) assert.equal((await d.head).statusCode, 200);
    const refused = await download(owner, restaurant.id, WINDOW);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('content-type'), 'application/problem+json');
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    held[0]!.cut();
    await held[0]!.done;
    const admitted = await eventually('an export to be admitted again', async () => {
      const res = await download(owner, restaurant.id, WINDOW);
      if (res.status === 200) return res;
      await res.body?.cancel();
      return undefined;
    }, 5_000);
    assert.equal(csvObjects(await admitted.text()).length, orders.length);
    held[1]!.cut();
    await busy(0);
  });

  it('cuts the download, never ends it short, when the database connection is lost mid-stream, and logs why', async () => {
    const d = start();
    await d.head;
    await d.readSome(4 * 1024);
    const [conn] = await busy(1);
    await ctx.sql.query('SELECT pg_terminate_backend($1)', [conn!.pid]);
    await d.resume();
    const result = await d.done;
    assert.equal(result.complete, false, 'the response must not end as if whole');
    assert.ok(result.bytes < 20 * 1024 * 1024);
    await eventually('the failure to be logged', async () => log.lines().some((l) => l.msg === 'order export failed after it started; the response is cut short'));
    // The broken connection was dropped, neither pooled nor kept: both of the pool's connections serve exports again.
    const again = [start(), start()];
    for (const a of again) assert.equal((await a.head).statusCode, 200);
    for (const a of again) a.cut();
    await busy(0);
  });

  it('cuts an export still running after EXPORT_MAX_DURATION_MS, so a stalled reader cannot hold a connection', async () => {
    const limited = await build(testConfig(ctx.url, { ...partnerEnv(ctx.sim), EXPORT_MAX_DURATION_MS: '1000' }), { background: false });
    try {
      await limited.listen({ port: 0, host: '127.0.0.1' });
      const { port: limitedPort } = limited.server.address() as { port: number };
      const d = pausedDownload(`http://127.0.0.1:${limitedPort}/v1/restaurants/${big.id}/orders/export`, owner.auth);
      assert.equal((await d.head).statusCode, 200);
      await d.readSome(1024);
      await busy(1);
      // The client reads nothing more; the server gives up on it and frees the connection.
      await busy(0);
      await d.resume();
      const result = await d.done;
      assert.equal(result.complete, false, 'the client sees the download cut');
    } finally {
      await limited.close();
    }
  });
});
