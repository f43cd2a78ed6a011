/**
 * The track scenario's world, written straight into the database (the fastest way to a thousand of
 * each, and not what is measured): couriers, their customers, and one order per courier, confirmed
 * and assigned, with the event log such an order has. Tokens are minted as the API mints them.
 */
import pg from 'pg';
import { offset } from '../src/domain/geo.ts';
import { TokenService } from '../src/services/token.service.ts';
import { CENTER, JWT_SECRET } from './stage.ts';

export interface TrackOrder {
  id: string;
  customerToken: string;
  courierId: string;
  courierToken: string;
  /** Where the courier starts: near the restaurant. */
  start: { lat: number; lng: number };
}

export async function trackFixtures(dbUrl: string, count: number): Promise<{ orders: TrackOrder[]; adminToken: string }> {
  const sql = new pg.Client({ connectionString: dbUrl });
  await sql.connect();
  const tokens = new TokenService(JWT_SECRET, 24 * 3600);
  try {
    await sql.query('BEGIN');
    const { rows: restaurants } = await sql.query<{ id: string; lat: number; lng: number }>(
      'SELECT id, lat, lng FROM restaurants ORDER BY name',
    );
    if (restaurants.length === 0) throw new Error('the demo city is not seeded');
    const { rows: admin } = await sql.query<{ id: string }>(
      `INSERT INTO users (email, name, role, password_hash) VALUES ('track-admin@dabba.test', 'Track Admin', 'admin', 'x')
       ON CONFLICT DO NOTHING RETURNING id`,
    );
    const adminId = admin[0]?.id ?? (await sql.query<{ id: string }>(`SELECT id FROM users WHERE email = 'track-admin@dabba.test'`)).rows[0]!.id;
    const n = Array.from({ length: count }, (_, i) => i);
    const users = async (kind: 'courier' | 'customer') =>
      (
        await sql.query<{ id: string }>(
          `INSERT INTO users (email, name, role, password_hash)
           SELECT 'track-' || $1 || '-' || i || '-' || gen_random_uuid() || '@dabba.test', 'Track ' || $1 || ' ' || i, $1, 'x'
           FROM unnest($2::int[]) AS i RETURNING id`,
          [kind, n],
        )
      ).rows.map((r) => r.id);
    const couriers = await users('courier');
    const customers = await users('customer');
    const orders: TrackOrder[] = [];
    const values: unknown[][] = [[], [], [], [], [], [], []];
    for (const i of n) {
      const r = restaurants[i % restaurants.length]!;
      const drop = offset(CENTER, (i * 37) % 360, 1 + (i % 5));
      const start = offset(r, (i * 53) % 360, 0.3);
      const id = crypto.randomUUID();
      for (const [k, v] of [id, customers[i], r.id, couriers[i], drop.lat, drop.lng, `track-${i}`].entries()) values[k]!.push(v);
      orders.push({
        id,
        customerToken: tokens.issue({ id: customers[i]!, role: 'customer' }),
        courierId: couriers[i]!,
        courierToken: tokens.issue({ id: couriers[i]!, role: 'courier' }),
        start,
      });
    }
    await sql.query(
      `INSERT INTO orders (id, customer_id, restaurant_id, courier_id, status, currency, subtotal_cents, delivery_fee_cents,
         total_cents, delivery_lat, delivery_lng, delivery_address, distance_km, idempotency_key, request_hash, payment_state, pos_state)
       SELECT id, customer_id, restaurant_id, courier_id, 'confirmed', 'INR', 20000, 3000, 23000, lat, lng, 'Track Road', 3, key, key,
         'authorized', 'accepted'
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::float8[], $6::float8[], $7::text[])
         AS t(id, customer_id, restaurant_id, courier_id, lat, lng, key)`,
      values,
    );
    await sql.query(
      `INSERT INTO order_events (order_id, from_status, to_status, actor_role, kind, courier_id)
       SELECT id, step.from_status, step.to_status, 'system', step.kind, CASE WHEN step.kind = 'courier_assigned' THEN courier_id END
       FROM unnest($1::uuid[], $2::uuid[]) AS t(id, courier_id),
         (VALUES (1, NULL, 'placed', 'status'), (2, 'placed', 'confirmed', 'status'), (3, 'confirmed', 'confirmed', 'courier_assigned'))
           AS step(n, from_status, to_status, kind)
       ORDER BY step.n, id`,
      [values[0], values[3]],
    );
    await sql.query('COMMIT');
    return { orders, adminToken: tokens.issue({ id: adminId, role: 'admin' }) };
  } catch (err) {
    await sql.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    await sql.end();
  }
}
