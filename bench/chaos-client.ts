/**
 * The campaign's clients, as real ones behave: a customer who retries a checkout with the same
 * Idempotency-Key until it gets an answer, and restaurant staff, an admin and a courier who take an
 * order through its later moves, retrying whatever a fault interrupted. Every attempt is over HTTP
 * to the real `dabba serve`; every answer is kept, so the invariants can ask what a client was told.
 */
import type { Account, Restaurant, World } from './chaos-env.ts';
import { CENTER } from './chaos-env.ts';
import { offset } from '../src/domain/geo.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REQUEST_TIMEOUT_MS = 10_000;
const TERMINAL = new Set(['delivered', 'payment_failed', 'rejected', 'cancelled']);

/** What becomes of an order after checkout, chosen per order from the seeded generator. */
export type Plan = 'deliver' | 'hold' | 'cancel' | 'reject' | 'kitchen-cancel';

interface OrderView {
  id: string;
  status: string;
  payment_state: string;
  courier_id: string | null;
}

type Answer = { status: number; body: Record<string, unknown> } | { error: string };

/** Everything the customer heard for one Idempotency-Key. */
export interface Told {
  key: string;
  /** Ids in 200/201 answers: one order per key means this set has one member. */
  ids: Set<string>;
  pos: boolean;
  plan: Plan;
  attempts: number;
  /** No 200/201 before the client's deadline. */
  gaveUp: boolean;
  /** A 4xx that retrying cannot fix (not expected: a finding when it happens). */
  refused?: string;
}

/** Answers by kind across a round, for the report: what the fault looked like from outside. */
export interface Seen {
  created: number;
  replayed: number;
  unavailable: number;
  serverErrors: number;
  refused: number;
  network: number;
}

export class RoundClient {
  readonly seen: Seen = { created: 0, replayed: 0, unavailable: 0, serverErrors: 0, refused: 0, network: 0 };
  readonly #base: string;
  readonly #world: World;
  readonly #customer: Account;

  constructor(base: string, world: World, customer: Account) {
    this.#base = base;
    this.#world = world;
    this.#customer = customer;
  }

  async #call(method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    try {
      const res = await fetch(`${this.#base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const parsed = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      return { status: res.status, body: parsed };
    } catch (err) {
      this.seen.network++;
      return { error: String((err as Error).cause ?? err) };
    }
  }

  #count(answer: Answer) {
    if ('error' in answer) return;
    if (answer.status === 503) this.seen.unavailable++;
    else if (answer.status >= 500) this.seen.serverErrors++;
  }

  /**
   * Places one order and retries with the same key (backoff, bounded by `deadline`) until it gets a
   * 200/201 or a 4xx. The restaurant, dishes and quantity are the caller's (seeded) choice.
   */
  async place(told: Told, restaurant: Restaurant, lines: { menu_item_id: string; quantity: number }[], deadline: number) {
    const body = { restaurant_id: restaurant.id, items: lines, delivery: { ...offset(CENTER, 90, 1), address: '12 Marine Drive' } };
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      told.attempts++;
      const answer = await this.#call('POST', '/v1/orders', this.#customer.token, body, { 'idempotency-key': told.key });
      this.#count(answer);
      if (!('error' in answer)) {
        if (answer.status === 200 || answer.status === 201) {
          if (answer.status === 201) this.seen.created++;
          else this.seen.replayed++;
          if (typeof answer.body.id === 'string') told.ids.add(answer.body.id);
          return;
        }
        if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) {
          this.seen.refused++;
          told.refused = `${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`;
          return;
        }
      }
      await sleep(Math.min(2_000, 200 * 2 ** attempt) * (0.5 + Math.random() / 2));
    }
    told.gaveUp = true;
  }

  /**
   * Takes an order through its plan, one move at a time, re-reading it after every answer: a move a
   * fault interrupted is simply tried again, and a 409 (someone else moved it; checkout still
   * running) is decided again against the order as it now is. True once the plan is done.
   */
  async drive(orderId: string, pos: boolean, plan: Plan, deadline: number): Promise<boolean> {
    const { owner, courier, admin } = this.#world;
    let order: OrderView | undefined;
    while (Date.now() < deadline) {
      if (!order) {
        const read = await this.#call('GET', `/v1/orders/${orderId}`, admin.token);
        if ('error' in read || read.status !== 200) {
          await sleep(300);
          continue;
        }
        order = read.body as unknown as OrderView;
      }
      const step = nextStep(order, pos, plan, { owner, courier, admin, customer: this.#customer });
      if (step === 'done') return true;
      if (step === 'wait') {
        order = undefined;
        await sleep(300);
        continue;
      }
      const answer = await this.#call('POST', `/v1/orders/${orderId}/${step.action}`, step.by.token, step.body ?? {});
      this.#count(answer);
      order = !('error' in answer) && answer.status === 200 ? (answer.body as unknown as OrderView) : undefined;
      if (!order) await sleep(200);
    }
    return false;
  }
}

type Step = 'done' | 'wait' | { action: string; by: Account; body?: unknown };

/** The next move a plan wants from where the order is now. */
function nextStep(o: OrderView, pos: boolean, plan: Plan, who: { owner: Account; courier: Account; admin: Account; customer: Account }): Step {
  if (TERMINAL.has(o.status)) return 'done';
  switch (o.status) {
    case 'placed':
      // A POS restaurant's order is decided by checkout (or the sweeper); a tablet one by staff, once authorised.
      if (pos || o.payment_state !== 'authorized') return 'wait';
      if (plan === 'reject') return { action: 'reject', by: who.owner, body: { reason: 'chaos: kitchen full' } };
      if (plan === 'cancel') return { action: 'cancel', by: who.customer };
      return { action: 'accept', by: who.owner };
    case 'confirmed':
      if (plan === 'hold' || plan === 'reject') return 'done';
      if (plan === 'cancel') return { action: 'cancel', by: who.customer };
      return { action: 'preparing', by: who.owner };
    case 'preparing':
      if (plan === 'kitchen-cancel') return { action: 'cancel', by: who.owner, body: { reason: 'chaos: out of gas' } };
      return { action: 'ready', by: who.owner };
    case 'ready':
      if (o.courier_id === null) return { action: 'assign', by: who.admin, body: { courier_id: who.courier.id } };
      return { action: 'picked-up', by: who.courier };
    case 'picked_up':
      return { action: 'delivered', by: who.courier };
    default:
      return 'wait';
  }
}
