/**
 * What must hold after every round, checked against dabba's database AND the simulators' own
 * records (the gateway's ledger, the POS's tickets, the messages sent), so a bug that makes dabba
 * believe something false about a partner is caught too. Each check counts violations and keeps a
 * line per violation naming the order and the evidence.
 */
import type pg from 'pg';
import { type FollowUp, followUps } from '../src/domain/follow-ups.ts';
import { FAILED_STATUSES, type OrderStatus } from '../src/domain/order-status.ts';
import type { Told } from './chaos-client.ts';
import type { ChaosSim } from './chaos-env.ts';

const FOLLOW_UP_QUEUES = ['notify', 'capture', 'compensate'];
const DEAD_LETTERS = 'follow_ups_dead';
const FAILED = new Set<string>(FAILED_STATUSES);
/** Statuses an order only reaches with its payment authorised (and, at a POS restaurant, a live ticket). */
const GOING = new Set(['confirmed', 'preparing', 'ready', 'picked_up', 'delivered']);
/** A failed order's payment or ticket still held, or not known to be released: compensation is owed. */
const PAYMENT_HELD = new Set(['authorized', 'unknown', 'pending']);
const TICKET_HELD = new Set(['accepted', 'unknown', 'pending', 'none']);

export interface OrderRow {
  id: string;
  status: OrderStatus;
  payment_state: string;
  authorization_id: string | null;
  pos_state: string;
  pos_order_id: string | null;
  idempotency_key: string;
  pos_integrated: boolean;
}
interface EventRow {
  order_id: string;
  kind: string;
  from_status: string | null;
  to_status: OrderStatus;
  follow_ups_pending: boolean;
}
interface JobRow {
  name: string;
  state: string;
  order_id: string;
  status: string;
}
interface LedgerEntry {
  kind: string;
  order_id: string;
  authorization_id: string | null;
  outcome: string;
  replay: boolean;
}
interface Ticket {
  order_id: string;
  pos_order_id: string | null;
  status: string;
}
interface Sent {
  template: string;
  data: { order_id?: string } | null;
}

export interface Facts {
  orders: OrderRow[];
  events: EventRow[];
  jobs: JobRow[];
  ledger: LedgerEntry[];
  tickets: Ticket[];
  sent: Sent[];
}

export interface Check {
  key: 'auth' | 'void' | 'pos' | 'stuck' | 'follow' | 'lost' | 'api';
  title: string;
  violations: number;
  details: string[];
}

/** One round's orders (one customer per round) and everything recorded about them, on both sides. */
export async function gatherFacts(sql: pg.Pool, sim: ChaosSim, customer: { id: string; email: string }): Promise<Facts> {
  const { rows: orders } = await sql.query<OrderRow>(
    `SELECT o.id, o.status, o.payment_state, o.authorization_id, o.pos_state, o.pos_order_id, o.idempotency_key, r.pos_integrated
       FROM orders o JOIN restaurants r ON r.id = o.restaurant_id WHERE o.customer_id = $1 ORDER BY o.created_at`,
    [customer.id],
  );
  const ids = orders.map((o) => o.id);
  const { rows: events } = await sql.query<EventRow>(
    `SELECT order_id, kind, from_status, to_status, follow_ups_pending FROM order_events WHERE order_id = ANY($1::uuid[]) ORDER BY id`,
    [ids],
  );
  const { rows: jobs } = await sql.query<JobRow>(
    `SELECT name, state, data->>'orderId' AS order_id, data->>'status' AS status FROM pgboss.job WHERE data->>'orderId' = ANY($1::text[])`,
    [ids],
  );
  const mine = new Set(ids);
  const ledger = await sim.control<{ entries: LedgerEntry[] }>('GET', '/payments/ledger');
  const pos = await sim.control<{ orders: Ticket[] }>('GET', '/pos/orders');
  const sent = await sim.control<{ messages: Sent[] }>('GET', `/notify/sent?to=${encodeURIComponent(customer.email)}`);
  return {
    orders,
    events,
    jobs,
    ledger: ledger.entries.filter((e) => mine.has(e.order_id)),
    tickets: pos.orders.filter((t) => mine.has(t.order_id)),
    sent: sent.messages,
  };
}

const about = (o: OrderRow) => `${o.id} (${o.status}, payment ${o.payment_state}, pos ${o.pos_integrated ? o.pos_state : 'tablet'})`;
const entries = (es: LedgerEntry[]) =>
  es.map((e) => `${e.kind}:${e.outcome}${e.replay ? '(replay)' : ''}@${e.authorization_id ?? '-'}`).join(' ') || 'no ledger entries';

function check(key: Check['key'], title: string): Check & { fail(detail: string): void } {
  const c = { key, title, violations: 0, details: [] as string[] };
  return Object.assign(c, {
    fail(detail: string) {
      c.violations++;
      c.details.push(detail);
    },
  });
}

export function checkInvariants(f: Facts, told: Told[], api: { deaths: string[]; notServing?: string }): Check[] {
  const auth = check('auth', 'one authorisation per order');
  const voids = check('void', 'failed voided, delivered captured once');
  const pos = check('pos', 'no live POS ticket for a failed order');
  const stuck = check('stuck', 'no order stuck');
  const follow = check('follow', 'no follow-up lost');
  const lost = check('lost', 'no order lost');
  const alive = check('api', 'API survived and served again');

  for (const o of f.orders) {
    const ledger = f.ledger.filter((e) => e.order_id === o.id);
    const authorized = ledger.filter((e) => e.kind === 'authorize' && e.outcome === 'authorized');
    const authIds = new Set(authorized.map((e) => e.authorization_id));
    const firstHand = authorized.filter((e) => !e.replay);
    const voided = new Set(ledger.filter((e) => e.kind === 'void' && e.outcome === 'voided').map((e) => e.authorization_id));
    const captures = ledger.filter((e) => e.kind === 'capture' && e.outcome === 'captured' && !e.replay);
    const failed = FAILED.has(o.status);
    const evidence = `${about(o)}: ${entries(ledger)}`;

    // 1. At most one authorisation; exactly one, and the one dabba recorded, for an order that went ahead.
    if (authIds.size > 1 || firstHand.length > 1) auth.fail(`several authorisations for ${evidence}`);
    else if (GOING.has(o.status) && (firstHand.length !== 1 || firstHand[0]!.authorization_id !== o.authorization_id)) {
      auth.fail(`${o.status} without exactly one authorisation matching authorization_id ${o.authorization_id}: ${evidence}`);
    }

    // 2. Compensation and capture, as the gateway saw them.
    if (failed) {
      for (const id of authIds) if (!voided.has(id)) voids.fail(`authorisation ${id} never voided for ${evidence}`);
      if (captures.length > 0) voids.fail(`failed order captured: ${evidence}`);
    } else if (o.status === 'delivered') {
      if (captures.length !== 1) voids.fail(`delivered, captured ${captures.length} times: ${evidence}`);
      if (voided.size > 0) voids.fail(`delivered but voided: ${evidence}`);
      if (o.payment_state !== 'captured') voids.fail(`delivered, payment_state ${o.payment_state}: ${evidence}`);
    } else if (captures.length > 0 || voided.size > 0) {
      voids.fail(`${o.status} order captured or voided: ${evidence}`);
    }

    // 3. The kitchen's view: nothing live for a failed order; one live ticket, dabba's, for a POS order that went ahead.
    const live = f.tickets.filter((t) => t.order_id === o.id && t.status === 'accepted');
    const tickets = f.tickets.filter((t) => t.order_id === o.id).map((t) => `${t.pos_order_id}:${t.status}`).join(' ') || 'no tickets';
    if (failed && live.length > 0) pos.fail(`live POS ticket for ${about(o)}: ${tickets}`);
    if (!failed && o.pos_integrated && GOING.has(o.status) && (live.length !== 1 || live[0]!.pos_order_id !== o.pos_order_id)) {
      pos.fail(`${o.status} POS order without exactly one live ticket ${o.pos_order_id}: ${tickets}`);
    }

    // 4. Settled: nothing placed, nothing a failed order holds (not_sent and declined hold nothing).
    if (o.status === 'placed') stuck.fail(`still placed: ${evidence}`);
    else if (failed && PAYMENT_HELD.has(o.payment_state)) stuck.fail(`failed, payment still ${o.payment_state}: ${evidence}`);
    else if (failed && o.pos_integrated && TICKET_HELD.has(o.pos_state)) stuck.fail(`failed, POS still ${o.pos_state}: ${about(o)}; ${tickets}`);

    // 5. Every status change's follow-ups: relayed, done (not dead-lettered, not still queued), and the customer told once.
    const jobs = f.jobs.filter((j) => j.order_id === o.id);
    for (const e of f.events.filter((x) => x.order_id === o.id)) {
      if (e.follow_ups_pending) follow.fail(`event ${e.from_status}→${e.to_status} of ${o.id} still pending`);
      // The placement event owes nothing: notifications are for changes; kind courier_assigned is not a status change.
      if (e.kind !== 'status' || e.from_status === null) continue;
      for (const queue of followUps(e.to_status) as FollowUp[]) {
        const forIt = jobs.filter((j) => j.name === queue && j.status === e.to_status);
        // Queued, retrying or still running after settling, failed for good, or never there: owed and not done.
        if (!forIt.some((j) => j.state === 'completed')) {
          const dead = jobs.filter((j) => j.name === DEAD_LETTERS && j.status === e.to_status).length;
          const states = forIt.map((j) => j.state).join(',') || 'none';
          follow.fail(`no completed ${queue} job for ${o.id} → ${e.to_status} (jobs: ${states}${dead ? `; ${dead} dead-lettered` : ''})`);
        }
      }
      const told = f.sent.filter((m) => m.template === `order.${e.to_status}` && m.data?.order_id === o.id).length;
      if (told !== 1) follow.fail(`${told} notifications of ${o.id} → ${e.to_status} at the notify partner`);
    }
  }

  // 6. Every order a client heard of exists, one per key, and no order exists that no client asked for.
  const byId = new Set(f.orders.map((o) => o.id));
  const keys = new Set(told.map((t) => t.key));
  for (const t of told) {
    if (t.ids.size > 1) lost.fail(`key ${t.key} answered with ${t.ids.size} different orders: ${[...t.ids].join(', ')}`);
    for (const id of t.ids) if (!byId.has(id)) lost.fail(`key ${t.key}: the client was told of order ${id}, which does not exist`);
    if (t.refused) lost.fail(`key ${t.key}: a valid order was refused: ${t.refused}`);
  }
  for (const o of f.orders) if (!keys.has(o.idempotency_key)) lost.fail(`order ${o.id} under key ${o.idempotency_key} that no client sent`);

  // 7. The process: a death nobody caused is a finding, and so is an API that never served again.
  for (const d of api.deaths) alive.fail(d);
  if (api.notServing) alive.fail(api.notServing);

  return [auth, voids, pos, stuck, follow, lost, alive].map(({ key, title, violations, details }) => ({ key, title, violations, details }));
}

/**
 * Waits, bounded, for the round to come to rest: no order placed, no event with follow-ups pending,
 * no follow-up job queued, retrying or running. One statement, so the three counts are one snapshot
 * (the relay clears an event and queues its jobs in one transaction). A failing query (PostgreSQL
 * still starting) is just another "not yet".
 */
export async function settle(sql: pg.Pool, customerId: string, timeoutMs: number) {
  const started = Date.now();
  let left = 'never asked';
  while (Date.now() - started < timeoutMs) {
    try {
      const { rows } = await sql.query<{ placed: number; pending: number; jobs: number }>(
        `WITH mine AS (SELECT id, status FROM orders WHERE customer_id = $1)
         SELECT (SELECT count(*)::int FROM mine WHERE status = 'placed') AS placed,
                (SELECT count(*)::int FROM order_events e JOIN mine ON mine.id = e.order_id WHERE e.follow_ups_pending) AS pending,
                (SELECT count(*)::int FROM pgboss.job j
                  WHERE j.name = ANY($2) AND j.state IN ('created', 'retry', 'active') AND j.data->>'orderId' IN (SELECT id::text FROM mine)) AS jobs`,
        [customerId, FOLLOW_UP_QUEUES],
      );
      const { placed, pending, jobs } = rows[0]!;
      left = `${placed} placed, ${pending} events pending, ${jobs} jobs queued`;
      if (placed + pending + jobs === 0) return { settled: true, ms: Date.now() - started, left: '' };
    } catch (err) {
      left = `database: ${(err as Error).message}`;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { settled: false, ms: Date.now() - started, left };
}
