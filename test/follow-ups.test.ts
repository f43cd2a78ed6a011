import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Actor,
  type LedgerEntry,
  type TestContext,
  type TestRestaurant,
  createRestaurant,
  createUser,
  eventually,
  placeOrder,
  setup,
} from './helper.ts';

/** Follow-up jobs with the default (slow) sweeper: nothing here is resolved by the sweeper by accident. */
const ctx = await setup();
/** A second app whose sweeper runs every 200 ms, with the shortest timeouts the configuration allows. */
const swept = await setup({
  env: { TABLET_ACCEPT_TIMEOUT_MS: '1000', PLACED_STUCK_AFTER_MS: '1000', SWEEP_INTERVAL_MS: '200' },
});

interface StoredOrder {
  status: string;
  status_reason: string | null;
  payment_state: string;
  authorization_id: string | null;
  pos_state: string;
  pos_order_id: string | null;
  created_ms: number;
}

async function stored(c: TestContext, orderId: string): Promise<StoredOrder> {
  const { rows } = await c.sql.query<StoredOrder>(
    `SELECT status, status_reason, payment_state, authorization_id, pos_state, pos_order_id,
            (extract(epoch FROM created_at) * 1000)::float8 AS created_ms
       FROM orders WHERE id = $1`,
    [orderId],
  );
  return rows[0]!;
}

/** Ledger entries that did something (replays are the API retrying with the same key). */
function originals(ledger: LedgerEntry[], kind: LedgerEntry['kind']) {
  return ledger.filter((e) => e.kind === kind && !e.replay);
}

async function posTickets(c: TestContext, orderId: string) {
  const body = (await c.sim.control('GET', `/pos/orders?order_id=${orderId}`)) as {
    orders: { pos_order_id: string | null; status: string; replays: number }[];
  };
  return body.orders;
}

async function notificationsFor(c: TestContext, customer: Actor, orderId: string) {
  const body = (await c.sim.control('GET', `/notify/sent?to=${encodeURIComponent(customer.email)}`)) as {
    messages: { template: string; data: { order_id?: string } | null; idempotency_key: string }[];
  };
  return body.messages.filter((m) => m.data?.order_id === orderId);
}

async function act(c: TestContext, who: Actor, orderId: string, path: string, payload: object = {}) {
  const res = await c.app.inject({ method: 'POST', url: `/v1/orders/${orderId}/${path}`, headers: who.auth, payload });
  assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
  return res.json() as { status: string };
}

async function cast(c: TestContext, opts: { pos: boolean }) {
  const customer = await createUser(c, 'customer');
  const owner = await createUser(c, 'restaurant');
  const courier = await createUser(c, 'courier');
  const admin = await createUser(c, 'admin');
  const restaurant = await createRestaurant(c, owner, { pos: opts.pos });
  return { customer, owner, courier, admin, restaurant };
}

/** A POS order: checkout confirms it, the owner and courier carry it to the door. */
async function deliver(c: TestContext, people: Awaited<ReturnType<typeof cast>>, orderId: string) {
  await act(c, people.owner, orderId, 'preparing');
  await act(c, people.admin, orderId, 'assign', { courier_id: people.courier.id });
  await act(c, people.owner, orderId, 'ready');
  await act(c, people.courier, orderId, 'picked-up');
  assert.equal((await act(c, people.courier, orderId, 'delivered')).status, 'delivered');
}

async function confirmedPosOrder(c: TestContext, customer: Actor, restaurant: TestRestaurant) {
  const order = await placeOrder(c, customer, restaurant);
  assert.equal(order.status, 'confirmed', 'a POS order is confirmed by checkout');
  const row = await stored(c, order.id);
  assert.equal(row.payment_state, 'authorized');
  assert.ok(row.authorization_id);
  assert.equal(row.pos_state, 'accepted');
  return { ...order, authorizationId: row.authorization_id, posOrderId: row.pos_order_id! };
}

describe('follow-ups of status changes', () => {
  it('captures a delivered order exactly once and records payment_state captured', async () => {
    await ctx.sim.fast();
    const people = await cast(ctx, { pos: true });
    const order = await confirmedPosOrder(ctx, people.customer, people.restaurant);
    await deliver(ctx, people, order.id);

    await eventually('the capture', async () => (await stored(ctx, order.id)).payment_state === 'captured');
    const ledger = await ctx.sim.ledger(order.id);
    const captures = originals(ledger, 'capture');
    assert.equal(captures.length, 1, JSON.stringify(ledger));
    assert.equal(captures[0]!.outcome, 'captured');
    assert.equal(captures[0]!.authorization_id, order.authorizationId);
    assert.equal(captures[0]!.amount_cents, order.total_cents);
    assert.equal(originals(ledger, 'authorize').length, 1);
    assert.equal(originals(ledger, 'void').length, 0, 'a delivered order is not voided');
  });

  it('voids the authorisation and cancels the POS ticket when the customer cancels a confirmed order', async () => {
    await ctx.sim.fast();
    const people = await cast(ctx, { pos: true });
    const order = await confirmedPosOrder(ctx, people.customer, people.restaurant);
    assert.equal((await act(ctx, people.customer, order.id, 'cancel')).status, 'cancelled');

    const row = await eventually('the compensation', async () => {
      const r = await stored(ctx, order.id);
      return r.payment_state === 'voided' && r.pos_state === 'cancelled' && r;
    });
    assert.equal(row.pos_order_id, order.posOrderId);
    const ledger = await ctx.sim.ledger(order.id);
    const voids = originals(ledger, 'void');
    assert.equal(voids.length, 1, JSON.stringify(ledger));
    assert.equal(voids[0]!.outcome, 'voided');
    assert.equal(voids[0]!.authorization_id, order.authorizationId);
    assert.equal(originals(ledger, 'capture').length, 0);
    const tickets = await posTickets(ctx, order.id);
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0]!.pos_order_id, order.posOrderId);
    assert.equal(tickets[0]!.status, 'cancelled');
  });

  it('voids the authorisation when a tablet restaurant rejects the order', async () => {
    await ctx.sim.fast();
    const people = await cast(ctx, { pos: false });
    const order = await placeOrder(ctx, people.customer, people.restaurant);
    assert.equal(order.status, 'placed');
    const { authorization_id } = await stored(ctx, order.id);
    assert.ok(authorization_id, 'checkout authorised the payment');
    assert.equal((await act(ctx, people.owner, order.id, 'reject', { reason: 'out of paneer' })).status, 'rejected');

    await eventually('the void', async () => (await stored(ctx, order.id)).payment_state === 'voided');
    const voids = originals(await ctx.sim.ledger(order.id), 'void');
    assert.equal(voids.length, 1);
    assert.equal(voids[0]!.authorization_id, authorization_id);
    assert.equal((await posTickets(ctx, order.id)).length, 0, 'a tablet restaurant has no POS ticket');
  });

  it('sends one notification per status change over a full placed → delivered life', async () => {
    await ctx.sim.fast();
    const people = await cast(ctx, { pos: true });
    const order = await confirmedPosOrder(ctx, people.customer, people.restaurant);
    await deliver(ctx, people, order.id);

    const expected = ['order.confirmed', 'order.preparing', 'order.ready', 'order.picked_up', 'order.delivered'];
    await eventually('every notification', async () => (await notificationsFor(ctx, people.customer, order.id)).length >= expected.length);
    // Give a duplicate the chance to show up before judging.
    await eventually('the capture', async () => (await stored(ctx, order.id)).payment_state === 'captured');
    const sent = await notificationsFor(ctx, people.customer, order.id);
    assert.deepEqual(sent.map((m) => m.template).sort(), [...expected].sort(), JSON.stringify(sent));
    for (const m of sent) assert.equal(m.idempotency_key, `notify:${order.id}:${m.template.slice('order.'.length)}`);
  });

  it('retries a capture that failed while payments were down and captures once they are back', async () => {
    await ctx.sim.fast();
    const people = await cast(ctx, { pos: true });
    const order = await confirmedPosOrder(ctx, people.customer, people.restaurant);
    await ctx.sim.set('payments', { mode: 'down' });
    try {
      await deliver(ctx, people, order.id);
      await eventually(
        'a failed capture attempt',
        async () => {
          const { rows } = await ctx.sql.query<{ retry_count: number }>(
            `SELECT retry_count FROM pgboss.job WHERE name = 'capture' AND data->>'orderId' = $1`,
            [order.id],
          );
          return rows[0] && rows[0].retry_count >= 1;
        },
        15_000,
      );
      assert.equal((await stored(ctx, order.id)).payment_state, 'authorized', 'not captured while payments are down');
      assert.equal(originals(await ctx.sim.ledger(order.id), 'capture').length, 0);
    } finally {
      await ctx.sim.fast();
    }
    // Backoff (1–2 s, 2–4 s, 4–8 s …) plus a circuit breaker that half-opens after 5 s.
    await eventually('the capture after payments returned', async () => (await stored(ctx, order.id)).payment_state === 'captured', 40_000);
    const captures = originals(await ctx.sim.ledger(order.id), 'capture');
    assert.equal(captures.length, 1);
    assert.equal(captures[0]!.outcome, 'captured');
  });

  it('running a capture again by hand changes nothing but replays, even after losing the record of the first', async () => {
    await ctx.sim.fast();
    const people = await cast(ctx, { pos: true });
    const order = await confirmedPosOrder(ctx, people.customer, people.restaurant);
    await deliver(ctx, people, order.id);
    await eventually('the capture', async () => (await stored(ctx, order.id)).payment_state === 'captured');
    const before = await ctx.sim.ledger(order.id);

    // Already recorded as captured: the job does nothing at all.
    await ctx.app.services.followUps.capture({ orderId: order.id, status: 'delivered' });
    assert.deepEqual(await ctx.sim.ledger(order.id), before);

    // A worker that died after the gateway captured but before it wrote `captured`: the retry replays.
    await ctx.sql.query(`UPDATE orders SET payment_state = 'authorized' WHERE id = $1`, [order.id]);
    await ctx.app.services.followUps.capture({ orderId: order.id, status: 'delivered' });
    const after = await ctx.sim.ledger(order.id);
    assert.deepEqual(after.slice(0, before.length), before);
    const added = after.slice(before.length);
    assert.ok(added.length >= 1, 'the second run asked the gateway again');
    for (const e of added) {
      assert.equal(e.kind, 'capture');
      assert.equal(e.replay, true, JSON.stringify(e));
      assert.equal(e.outcome, 'captured');
    }
    assert.equal(originals(after, 'capture').length, 1);
    assert.equal((await stored(ctx, order.id)).payment_state, 'captured');
  });

  it('running a compensation again by hand voids nothing new and cancels no new POS ticket', async () => {
    await ctx.sim.fast();
    const people = await cast(ctx, { pos: true });
    const order = await confirmedPosOrder(ctx, people.customer, people.restaurant);
    await act(ctx, people.customer, order.id, 'cancel');
    await eventually('the compensation', async () => {
      const r = await stored(ctx, order.id);
      return r.payment_state === 'voided' && r.pos_state === 'cancelled';
    });
    const before = await ctx.sim.ledger(order.id);
    await ctx.app.services.followUps.compensate({ orderId: order.id, status: 'cancelled' });
    assert.deepEqual(await ctx.sim.ledger(order.id), before);

    await ctx.sql.query(`UPDATE orders SET payment_state = 'authorized', pos_state = 'accepted' WHERE id = $1`, [order.id]);
    await ctx.app.services.followUps.compensate({ orderId: order.id, status: 'cancelled' });
    const after = await ctx.sim.ledger(order.id);
    assert.ok(after.slice(before.length).every((e) => e.kind === 'void' && e.replay), JSON.stringify(after));
    assert.equal(originals(after, 'void').length, 1);
    const row = await stored(ctx, order.id);
    assert.equal(row.payment_state, 'voided');
    assert.equal(row.pos_state, 'cancelled');
    const tickets = await posTickets(ctx, order.id);
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0]!.status, 'cancelled');
  });

  it('running a notification again by hand sends nothing new', async () => {
    await ctx.sim.fast();
    const people = await cast(ctx, { pos: true });
    const order = await confirmedPosOrder(ctx, people.customer, people.restaurant);
    const first = await eventually('the confirmation', async () => {
      const sent = await notificationsFor(ctx, people.customer, order.id);
      return sent.length === 1 && sent;
    });
    const [outcome] = await ctx.app.services.followUps.run('notify', [{ orderId: order.id, status: 'confirmed' }]);
    assert.equal(outcome?.status, 'fulfilled');
    assert.deepEqual(await notificationsFor(ctx, people.customer, order.id), first);
  });
});

describe('order sweeper', () => {
  it('rejects a tablet order nobody accepted within TABLET_ACCEPT_TIMEOUT_MS as restaurant_did_not_answer, and voids it', async () => {
    await swept.sim.fast();
    const people = await cast(swept, { pos: false });
    const order = await placeOrder(swept, people.customer, people.restaurant);
    const { authorization_id } = await stored(swept, order.id);
    assert.ok(authorization_id);

    const row = await eventually('the sweeper and the void', async () => {
      const r = await stored(swept, order.id);
      return r.status === 'rejected' && r.payment_state === 'voided' && r;
    }, 15_000);
    assert.equal(row.status_reason, 'restaurant_did_not_answer');
    const { rows: events } = await swept.sql.query<{ actor_role: string; reason: string; waited_ms: number }>(
      `SELECT e.actor_role, e.reason, (extract(epoch FROM e.created_at - o.created_at) * 1000)::float8 AS waited_ms
         FROM order_events e JOIN orders o ON o.id = e.order_id
        WHERE e.order_id = $1 AND e.to_status = 'rejected'`,
      [order.id],
    );
    assert.equal(events.length, 1);
    assert.equal(events[0]!.actor_role, 'system');
    assert.ok(events[0]!.waited_ms >= 1000, `rejected after ${events[0]!.waited_ms} ms, before the 1000 ms timeout`);
    const voids = originals(await swept.sim.ledger(order.id), 'void');
    assert.equal(voids.length, 1);
    assert.equal(voids[0]!.authorization_id, authorization_id);
  });

  it('leaves a tablet order that the restaurant accepted in time alone', async () => {
    await swept.sim.fast();
    const people = await cast(swept, { pos: false });
    const order = await placeOrder(swept, people.customer, people.restaurant);
    await act(swept, people.owner, order.id, 'accept');
    await new Promise((r) => setTimeout(r, 1_800));
    const row = await stored(swept, order.id);
    assert.equal(row.status, 'confirmed');
    assert.equal(row.payment_state, 'authorized');
    assert.equal(originals(await swept.sim.ledger(order.id), 'void').length, 0);
  });

  it('fails a placed order whose checkout died after the gateway authorised it as checkout_timed_out, and voids that authorisation', async () => {
    await swept.sim.fast();
    const people = await cast(swept, { pos: true });
    const order = await confirmedPosOrder(swept, people.customer, people.restaurant);
    // What a process killed mid-checkout leaves: the partners did their part, the order row never heard back.
    await swept.sql.query(
      `UPDATE orders SET status = 'placed', payment_state = 'pending', authorization_id = NULL,
              pos_state = 'pending', pos_order_id = NULL, status_reason = NULL, version = version + 1
        WHERE id = $1`,
      [order.id],
    );

    const row = await eventually('the sweeper and the compensation', async () => {
      const r = await stored(swept, order.id);
      return r.status === 'payment_failed' && r.payment_state === 'voided' && r.pos_state === 'cancelled' && r;
    }, 15_000);
    assert.equal(row.status_reason, 'checkout_timed_out');
    assert.equal(row.authorization_id, order.authorizationId, 'the replayed authorisation found the one the gateway holds');
    const ledger = await swept.sim.ledger(order.id);
    assert.equal(originals(ledger, 'authorize').length, 1, 'no second authorisation');
    assert.ok(ledger.filter((e) => e.kind === 'authorize').every((e) => e.authorization_id === order.authorizationId));
    const voids = originals(ledger, 'void');
    assert.equal(voids.length, 1);
    assert.equal(voids[0]!.authorization_id, order.authorizationId);
    const tickets = await posTickets(swept, order.id);
    assert.equal(tickets.length, 1, 'no second POS ticket');
    assert.equal(tickets[0]!.status, 'cancelled');
  });

  it('fails a placed order whose checkout died before calling any partner as checkout_timed_out, leaving no live authorisation', async () => {
    await swept.sim.fast();
    const people = await cast(swept, { pos: false });
    const item = people.restaurant.items[0]!;
    // The row exactly as placing writes it before checkout starts; then the process "died".
    const { rows } = await swept.sql.query<{ id: string }>(
      `INSERT INTO orders (customer_id, restaurant_id, status, currency, subtotal_cents, delivery_fee_cents, total_cents,
                           delivery_lat, delivery_lng, delivery_address, distance_km, idempotency_key, request_hash)
       SELECT $1, r.id, 'placed', 'INR', $3, 0, $3, r.lat, r.lng, '1 Crash Lane', 0, 'crashed-checkout-1', 'x'
         FROM restaurants r WHERE r.id = $2
       RETURNING id`,
      [people.customer.id, people.restaurant.id, item.price_cents],
    );
    const orderId = rows[0]!.id;
    await swept.sql.query(
      `INSERT INTO order_items (order_id, line, menu_item_id, name, unit_price_cents, quantity, line_total_cents)
       VALUES ($1, 1, $2, $3, $4, 1, $4)`,
      [orderId, item.id, item.name, item.price_cents],
    );
    assert.equal((await swept.sim.ledger(orderId)).length, 0, 'the gateway has never heard of this order');

    const row = await eventually('the sweeper and the compensation', async () => {
      const r = await stored(swept, orderId);
      return r.status === 'payment_failed' && ['voided', 'declined'].includes(r.payment_state) && r;
    }, 15_000);
    assert.equal(row.status_reason, 'checkout_timed_out');
    const ledger = await swept.sim.ledger(orderId);
    const authorized = new Set(ledger.filter((e) => e.kind === 'authorize' && e.outcome === 'authorized').map((e) => e.authorization_id));
    const voided = new Set(originals(ledger, 'void').filter((e) => e.outcome === 'voided').map((e) => e.authorization_id));
    assert.ok(authorized.size <= 1, 'never two authorisations for one order');
    for (const id of authorized) assert.ok(voided.has(id), `authorisation ${id} was left live`);
    assert.equal(originals(ledger, 'capture').length, 0);
  });
});
