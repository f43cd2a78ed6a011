/**
 * The baseline: what a bare `node:http` + undici server does for the same two requests, with no
 * framework, no validation, no auth, no policies, no metrics. The feed makes the same catalog and ETA
 * calls for the same ten restaurants; an order is one INSERT with pg plus the same payment, POS and
 * ETA calls. Its throughput is the practical ceiling of this runtime for the same outside work.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';
import { Pool } from 'undici';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
};

const db = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 20 });
await db.query('CREATE TABLE IF NOT EXISTS bench_orders (id uuid PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
const restaurants = (
  await db.query<{ id: string; lat: number; lng: number; prep_minutes: number }>(
    'SELECT id, lat, lng, prep_minutes FROM restaurants WHERE is_open',
  )
).rows;

// Sockets per partner: dabba's PARTNER_CONNECTIONS default, raised with it in the CPU-bound regime.
const connections = Number(process.env.PARTNER_CONNECTIONS ?? 128);
const pool = (url: string) => {
  const u = new URL(url);
  return { pool: new Pool(u.origin, { connections }), prefix: u.pathname.replace(/\/$/, '') };
};
const partners = {
  payments: pool(env('PAYMENTS_URL')),
  pos: pool(env('POS_URL')),
  eta: pool(env('ETA_URL')),
  catalog: pool(env('CATALOG_URL')),
};

async function call(p: { pool: Pool; prefix: string }, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await p.pool.request({
    method,
    path: p.prefix + path,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.body.json() as Promise<Record<string, unknown>>;
}

const rad = (d: number) => (d * Math.PI) / 180;
function km(a: { lat: number; lng: number }, b: { lat: number; lng: number }) {
  const h = Math.sin(rad(b.lat - a.lat) / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lng - a.lng) / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(h));
}

async function feed(lat: number, lng: number) {
  const here = { lat, lng };
  const nearest = [...restaurants].sort((a, b) => km(a, here) - km(b, here)).slice(0, 10);
  return Promise.all(
    nearest.map(async (r) => {
      const [menu, eta] = await Promise.allSettled([
        call(partners.catalog, 'GET', `/v1/restaurants/${r.id}/menu`),
        call(partners.eta, 'POST', '/v1/predict', { origin: r, destination: here, prep_minutes: r.prep_minutes }),
      ]);
      return { restaurant: r, menu: menu.status === 'fulfilled' ? menu.value : null, eta: eta.status === 'fulfilled' ? eta.value : null };
    }),
  );
}

async function order(body: { restaurant_id: string; items: { menu_item_id: string; quantity: number }[]; delivery: { lat: number; lng: number } }) {
  const id = randomUUID();
  await db.query('INSERT INTO bench_orders (id, body) VALUES ($1, $2)', [id, body]);
  const restaurant = restaurants.find((r) => r.id === body.restaurant_id) ?? restaurants[0]!;
  const [payment, pos, eta] = await Promise.allSettled([
    call(partners.payments, 'POST', '/v1/authorizations', { order_id: id, amount_cents: 50_000, currency: 'INR', idempotency_key: `authorize:${id}` }),
    call(partners.pos, 'POST', '/v1/orders', { order_id: id, restaurant_id: body.restaurant_id, items: body.items, idempotency_key: `submit:${id}` }),
    call(partners.eta, 'POST', '/v1/predict', { origin: restaurant, destination: body.delivery, prep_minutes: restaurant.prep_minutes }),
  ]);
  const ok = payment.status === 'fulfilled' && pos.status === 'fulfilled';
  return { id, status: ok ? 'confirmed' : 'failed', eta: eta.status === 'fulfilled' ? eta.value : null };
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://x');
    let status = 200;
    let payload: unknown;
    if (req.method === 'GET' && url.pathname === '/v1/feed') {
      payload = { items: await feed(Number(url.searchParams.get('lat')), Number(url.searchParams.get('lng'))) };
    } else if (req.method === 'POST' && url.pathname === '/v1/orders') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      payload = await order(JSON.parse(raw));
      status = 201;
    } else {
      status = 404;
      payload = { error: 'not found' };
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
  } catch (err) {
    res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
  }
});
server.keepAliveTimeout = 72_000;
server.listen(Number(env('PORT')), '127.0.0.1', () => process.stdout.write(`baseline listening on ${env('PORT')}\n`));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void db.end().then(() => process.exit(0)));
});
