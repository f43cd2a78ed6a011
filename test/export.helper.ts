/** Orders for the export tests, written straight into the database with the times and texts a test needs. */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Actor, TestContext, TestRestaurant } from './helper.ts';

export interface SeededLine {
  name: string;
  quantity: number;
  unit_price_cents: number;
}

export interface SeededOrder {
  id: string;
  created_at: string;
  status: string;
  payment_state: string;
  delivery_address: string;
  status_reason: string | null;
  lines: SeededLine[];
  subtotal_cents: number;
  delivery_fee_cents: number;
  total_cents: number;
}

export async function seedOrder(
  ctx: TestContext,
  customer: Actor,
  restaurant: TestRestaurant,
  o: { createdAt: string; address?: string; lines?: SeededLine[]; status?: string; paymentState?: string; reason?: string | null; id?: string },
): Promise<SeededOrder> {
  const lines = o.lines ?? [{ name: 'Dish 1', quantity: 1, unit_price_cents: 10_000 }];
  const subtotal = lines.reduce((n, l) => n + l.quantity * l.unit_price_cents, 0);
  const order: SeededOrder = {
    id: o.id ?? randomUUID(),
    created_at: new Date(o.createdAt).toISOString(),
    status: o.status ?? 'delivered',
    payment_state: o.paymentState ?? 'captured',
    delivery_address: o.address ?? '12 Marine Drive, Mumbai',
    status_reason: o.reason ?? null,
    lines,
    subtotal_cents: subtotal,
    delivery_fee_cents: 2_000,
    total_cents: subtotal + 2_000,
  };
  await ctx.sql.query(
    `INSERT INTO orders (id, customer_id, restaurant_id, status, currency, subtotal_cents, delivery_fee_cents, total_cents,
       delivery_lat, delivery_lng, delivery_address, distance_km, status_reason, idempotency_key, request_hash, payment_state, created_at)
     VALUES ($1, $2, $3, $4, 'INR', $5, $6, $7, 19.08, 72.88, $8, 2.5, $9, $10, 'test', $11, $12)`,
    [order.id, customer.id, restaurant.id, order.status, order.subtotal_cents, order.delivery_fee_cents, order.total_cents, order.delivery_address, order.status_reason, randomUUID(), order.payment_state, order.created_at],
  );
  for (const [k, l] of lines.entries()) {
    await ctx.sql.query(
      `INSERT INTO order_items (order_id, line, menu_item_id, name, unit_price_cents, quantity, line_total_cents) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [order.id, k + 1, restaurant.items[0]!.id, l.name, l.unit_price_cents, l.quantity, l.unit_price_cents * l.quantity],
    );
  }
  return order;
}

/** `count` orders a millisecond apart, starting a day ago, one line each: one statement, a few seconds for 200,000. */
export async function seedManyOrders(ctx: TestContext, customer: Actor, restaurant: TestRestaurant, count: number) {
  await ctx.sql.query(
    `WITH o AS (
       INSERT INTO orders (customer_id, restaurant_id, status, currency, subtotal_cents, delivery_fee_cents, total_cents,
         delivery_lat, delivery_lng, delivery_address, distance_km, idempotency_key, request_hash, payment_state, created_at)
       SELECT $1, $2, 'delivered', 'INR', 24900, 2000, 26900, 19.08, 72.88, 'Flat ' || g || ', Marine Drive, Mumbai', 2.5,
              'bulk-' || g, 'test', 'captured', now() - interval '1 day' + g * interval '1 millisecond'
         FROM generate_series(1, $3::int) g
       RETURNING id)
     INSERT INTO order_items (order_id, line, menu_item_id, name, unit_price_cents, quantity, line_total_cents)
     SELECT id, 1, $4, 'Paneer Tikka', 24900, 1, 24900 FROM o`,
    [customer.id, restaurant.id, count, restaurant.items[0]!.id],
  );
  await ctx.sql.query('ANALYZE orders');
}

/**
 * A download read by hand: the response arrives, then nothing is read (`paused`) until the test says,
 * so the server meets backpressure; `cut()` hangs up. `done` settles with what was read and whether the
 * response ended whole (`complete`) once it ends, breaks or is cut.
 */
export function pausedDownload(url: string, headers: Record<string, string>) {
  let resolveHead: (res: http.IncomingMessage) => void;
  const head = new Promise<http.IncomingMessage>((r) => {
    resolveHead = r;
  });
  let bytes = 0;
  const req = http.get(url, { headers }, (res) => {
    res.pause();
    res.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    resolveHead(res);
  });
  const done = new Promise<{ bytes: number; complete: boolean; status: number }>((resolve) => {
    req.on('error', () => resolve({ bytes, complete: false, status: 0 }));
    void head.then((res) => {
      res.on('error', () => {});
      res.on('close', () => resolve({ bytes, complete: res.complete, status: res.statusCode ?? 0 }));
    });
  });
  return {
    head,
    done,
    /** Reads what has arrived so far (at least `min` bytes), then stops reading again. */
    async readSome(min: number) {
      const res = await head;
      res.resume();
      while (bytes < min && !res.readableEnded && !res.destroyed) await new Promise((r) => setTimeout(r, 5));
      res.pause();
      return bytes;
    },
    resume: async () => (await head).resume(),
    cut: () => req.destroy(),
  };
}

/** The export's connections to this test's database that are running a query (not idle in the pool). */
export async function busyExportConnections(ctx: TestContext): Promise<{ pid: number; state: string }[]> {
  const { rows } = await ctx.sql.query<{ pid: number; state: string }>(
    `SELECT pid, state FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'dabba-export' AND state <> 'idle'`,
  );
  return rows;
}
