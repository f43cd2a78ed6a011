import type { Static } from 'typebox';
import type { OrderStatus } from '../../src/domain/order-status.ts';
import type { Restaurant } from '../../src/routes/restaurants/schema.ts';
import type { CityApi, Session } from './api-client.ts';
import { between, type CityClock, MINUTE, SECOND } from './clock.ts';
import { LiveStream } from './live-stream.ts';
import type { Tally } from './report.ts';

export type CityRestaurant = Static<typeof Restaurant>;

interface StatusEvent {
  order_id: string;
  kind: 'status' | 'courier_assigned';
  to: OrderStatus;
}
interface Snapshot {
  orders: { id: string; status: OrderStatus }[];
}

type Action = 'accept' | 'reject' | 'preparing' | 'ready';
const COUNTED = { accept: 'kitchen_accepted', reject: 'kitchen_rejected', preparing: 'kitchen_preparing', ready: 'kitchen_ready' } as const;

/** How a kitchen paces itself, in city time. */
const REACTION_MS = [20 * SECOND, 90 * SECOND] as const;
const START_COOKING_MS = [30 * SECOND, 2 * MINUTE] as const;
/** A dish takes its restaurant's prep time, give or take a fifth. */
const PREP_SPREAD = [0.8, 1.2] as const;
/** How long a move refused because checkout was still running waits before it is tried again (real time), and how often. */
const CHECKOUT_RETRY_MS = 500;
const CHECKOUT_RETRIES = 20;

export interface KitchenDeps {
  api: CityApi;
  clock: CityClock;
  tally: Tally;
  rand: () => number;
  /** The share of orders a tablet restaurant turns down. */
  rejectRate: number;
}

/**
 * The restaurants' side of the city. Each owner's tablet finds its restaurants
 * (`GET /v1/restaurants/mine`) and watches each one's orders stream; every move it hears of sets the
 * kitchen's next step, whoever made the move (the city, a person on the restaurant board, the POS):
 * - a tablet restaurant (no POS) accepts a new order after a person's reaction time, or now and then
 *   rejects it;
 * - a POS restaurant's orders are confirmed by its POS during checkout;
 * - then, at either kind, cooking starts a little later and the order is ready after the restaurant's
 *   prep time. dabba has no POS callback for the kitchen's progress, so at a POS restaurant too these
 *   two steps reach dabba as the owner's moves, as its POS integration or its staff would send them.
 */
export class Kitchens {
  readonly #deps: KitchenDeps;
  readonly #streams: LiveStream[] = [];
  /** The step each order's kitchen has scheduled, and how to call it off when the order moves on. */
  readonly #next = new Map<string, { after: string; cancel: () => void }>();

  constructor(deps: KitchenDeps) {
    this.#deps = deps;
  }

  /** Opens `owner`'s restaurants' streams; returns the restaurants. */
  async open(owner: Session): Promise<CityRestaurant[]> {
    const { api } = this.#deps;
    const mine = await api.call<{ items: CityRestaurant[] }>('my restaurants', 'GET', '/v1/restaurants/mine', { token: owner.token, retry: true });
    if (mine?.status !== 200) return [];
    for (const restaurant of mine.body.items) {
      this.#streams.push(
        new LiveStream(this.#deps, 'restaurant stream', `/v1/restaurants/${restaurant.id}/orders/stream`, owner.token, {
          snapshot: (s: Snapshot) => {
            for (const order of s.orders) this.#moved(restaurant, owner, order.id, order.status);
          },
          status: (e: StatusEvent) => {
            if (e.kind === 'status') this.#moved(restaurant, owner, e.order_id, e.to);
          },
        }),
      );
    }
    return mine.body.items;
  }

  close() {
    for (const stream of this.#streams) stream.close();
    for (const step of this.#next.values()) step.cancel();
    this.#next.clear();
  }

  #moved(restaurant: CityRestaurant, owner: Session, orderId: string, status: OrderStatus) {
    if (this.#next.get(orderId)?.after === status) return;
    this.#next.get(orderId)?.cancel();
    this.#next.delete(orderId);
    const step = this.#step(restaurant, status);
    if (!step) return;
    const cancel = this.#deps.clock.after(step.inMs, () => void this.#act(owner, orderId, status, step.action, CHECKOUT_RETRIES));
    this.#next.set(orderId, { after: status, cancel });
  }

  #step(restaurant: CityRestaurant, status: OrderStatus): { action: Action; inMs: number } | undefined {
    const { rand, rejectRate } = this.#deps;
    switch (status) {
      case 'placed':
        if (restaurant.pos_integrated) return undefined;
        return { action: rand() < rejectRate ? 'reject' : 'accept', inMs: between(rand, ...REACTION_MS) };
      case 'confirmed':
        return { action: 'preparing', inMs: between(rand, ...START_COOKING_MS) };
      case 'preparing':
        return { action: 'ready', inMs: restaurant.prep_minutes * MINUTE * between(rand, ...PREP_SPREAD) };
      default:
        return undefined;
    }
  }

  async #act(owner: Session, orderId: string, from: OrderStatus, action: Action, retries: number) {
    const { api, clock, tally } = this.#deps;
    const body = action === 'reject' ? { reason: 'The kitchen is too busy to take this order.' } : {};
    const answer = await api.call<{ current_status?: string }>(`kitchen ${action}`, 'POST', `/v1/orders/${orderId}/${action}`, {
      token: owner.token,
      body,
      expected: [409],
      retry: true,
    });
    if (answer?.status === 200) {
      tally.add(COUNTED[action]);
      return;
    }
    // Still where it was: checkout is running (its answer is a moment away), or the request failed. Moved on
    // (someone else's move, or the order ended): the stream brings the news and the next step with it.
    const stuck = answer === undefined || answer.body?.current_status === from;
    if (!stuck || retries === 0 || this.#next.get(orderId)?.after !== from) {
      if (stuck) tally.error(`kitchen ${action}: still ${from}`);
      return;
    }
    const cancel = clock.afterWall(CHECKOUT_RETRY_MS, () => void this.#act(owner, orderId, from, action, retries - 1));
    this.#next.set(orderId, { after: from, cancel });
  }
}
