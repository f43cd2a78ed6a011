import { randomUUID } from 'node:crypto';
import type { Static } from 'typebox';
import type { Point } from '../../src/domain/geo.ts';
import type { OrderStatus } from '../../src/domain/order-status.ts';
import { isFinal } from '../../src/domain/order-status.ts';
import type { GetFeed } from '../../src/routes/feed/schema.ts';
import type { Order, PlaceOrderBody } from '../../src/routes/orders/schema.ts';
import { BUSY, type CityApi, type Session } from './api-client.ts';
import type { CityClock } from './clock.ts';
import { type CityArea, pointWithin } from './geometry.ts';
import { LiveStream } from './live-stream.ts';
import type { Tally } from './report.ts';

type Feed = Static<(typeof GetFeed)['response'][200]>;
type CityOrder = Static<typeof Order>;
type Cart = Pick<PlaceOrderBody, 'restaurant_id' | 'items'>;
interface StatusEvent {
  kind: 'status' | 'courier_assigned';
  to: OrderStatus;
  at: string;
}

/** Tries per Idempotency-Key while the API is unreachable or busy; the same key every time, so no order is made twice. */
const PLACE_ATTEMPTS = 4;
/** A cart refused at checkout (a dish sold out since the menu was read) is chosen again this many times. */
const CART_ATTEMPTS = 2;

export interface CustomerDeps {
  api: CityApi;
  clock: CityClock;
  tally: Tally;
  rand: () => number;
  area: CityArea;
  /** Real orders per minute, arriving at random (a Poisson process). */
  ordersPerMinute: number;
  maxInFlight: number;
  maxOrders: number;
}

interface Customer {
  session: Session;
  home: Point;
  inFlight: number;
}

/**
 * The city's customers. Orders arrive at random at the given rate; each goes to the customer with
 * the fewest orders under way, who opens the home feed where they live, picks one of the nearer
 * restaurants and a few of the dishes it shows, orders with an Idempotency-Key (retried with the same
 * key when the API is busy or unreachable), then watches the order's track stream until it ends and
 * reads the order once more, as an app refreshing its screen would. Arrivals past the in-flight cap
 * are held back; after `maxOrders` orders none are placed, and `finished` resolves once every one has ended.
 */
export class Customers {
  readonly finished: Promise<void>;
  readonly #deps: CustomerDeps;
  readonly #people: Customer[];
  readonly #watches = new Set<LiveStream>();
  #placing = 0;
  #finish!: () => void;

  constructor(deps: CustomerDeps, sessions: Session[]) {
    this.#deps = deps;
    this.#people = sessions.map((session) => ({ session, home: pointWithin({ ...deps.area, radiusKm: deps.area.radiusKm * 0.7 }, deps.rand), inFlight: 0 }));
    this.finished = new Promise((resolve) => (this.#finish = resolve));
    if (this.#people.length > 0) this.#scheduleArrival();
  }

  close() {
    for (const watch of this.#watches) watch.close();
    this.#watches.clear();
  }

  #scheduleArrival() {
    const { clock, rand, ordersPerMinute } = this.#deps;
    clock.afterWall((-Math.log(1 - rand()) * 60_000) / ordersPerMinute, () => this.#arrive());
  }

  #arrive() {
    const { tally, maxInFlight, maxOrders, rand } = this.#deps;
    if (tally.get('placed') >= maxOrders) return this.#checkFinished();
    this.#scheduleArrival();
    if (tally.get('placed') + this.#placing >= maxOrders) return;
    if (tally.inFlight + this.#placing >= maxInFlight) return tally.add('held_back');
    const fewest = Math.min(...this.#people.map((p) => p.inFlight));
    const free = this.#people.filter((p) => p.inFlight === fewest);
    void this.#order(free[Math.floor(rand() * free.length)]!);
  }

  #checkFinished() {
    const { tally, maxOrders } = this.#deps;
    if (tally.get('placed') >= maxOrders && this.#placing === 0 && tally.inFlight === 0) this.#finish();
  }

  async #order(customer: Customer) {
    this.#placing++;
    try {
      for (let attempt = 0; attempt < CART_ATTEMPTS; attempt++) {
        const cart = await this.#chooseCart(customer);
        if (!cart) return;
        if ((await this.#place(customer, cart)) !== 'refused') return;
      }
    } finally {
      this.#placing--;
      this.#checkFinished();
    }
  }

  /** One of the nearer restaurants of the home feed, and one to three of the dishes it shows, one or two of each. */
  async #chooseCart(customer: Customer): Promise<Cart | undefined> {
    const { api, rand, tally } = this.#deps;
    const { lat, lng } = customer.home;
    const feed = await api.call<Feed>('home feed', 'GET', `/v1/feed?lat=${lat}&lng=${lng}`, { token: customer.session.token, retry: true });
    if (feed?.status !== 200) return undefined;
    const choices = feed.body.items.filter((e) => e.restaurant.is_open && (e.menu?.highlights.length ?? 0) > 0);
    if (choices.length === 0) {
      tally.error('home feed: nothing to order');
      return undefined;
    }
    // Nearest first, each next one half as likely: people mostly order from close by.
    let pick = 0;
    while (pick < choices.length - 1 && rand() < 0.5) pick++;
    const entry = choices[pick]!;
    const dishes = [...entry.menu!.highlights].sort(() => rand() - 0.5).slice(0, 1 + Math.floor(rand() * 3));
    return { restaurant_id: entry.restaurant.id, items: dishes.map((d) => ({ menu_item_id: d.id, quantity: 1 + Math.floor(rand() * 2) })) };
  }

  async #place(customer: Customer, cart: Cart): Promise<'placed' | 'refused' | 'failed'> {
    const { api, clock, tally } = this.#deps;
    const key = randomUUID();
    const body = { ...cart, delivery: { ...customer.home, address: `${1 + Math.floor(this.#deps.rand() * 200)} Demo Lane, Mumbai` } };
    for (let attempt = 1; attempt <= PLACE_ATTEMPTS; attempt++) {
      const answer = await api.call<CityOrder>('place order', 'POST', '/v1/orders', {
        token: customer.session.token,
        headers: { 'idempotency-key': key },
        body,
        expected: [422, ...BUSY],
      });
      if (answer?.status === 201 || answer?.status === 200) {
        tally.add('placed');
        this.#track(customer, answer.body);
        return 'placed';
      }
      if (answer?.status === 422) {
        tally.add('refused');
        return 'refused';
      }
      // Unanswered, or busy: asked again with the same key, so at most one order is made whatever happened.
      const busy = answer !== undefined && BUSY.includes(answer.status);
      if (busy) tally.add('retried');
      if ((answer !== undefined && !busy) || !(await clock.sleepWall(answer?.retryAfterMs ?? 1_000 * attempt))) return 'failed';
    }
    tally.error('place order: gave up');
    return 'failed';
  }

  #track(customer: Customer, order: CityOrder) {
    const { api, tally } = this.#deps;
    customer.inFlight++;
    let ended = false;
    const watch = new LiveStream(this.#deps, 'order track', `/v1/orders/${order.id}/track`, customer.session.token, {
      status: (e: StatusEvent) => {
        if (ended || e.kind !== 'status' || !isFinal(e.to)) return;
        ended = true;
        watch.close();
        this.#watches.delete(watch);
        void (async () => {
          const read = await api.call<CityOrder>('read order', 'GET', `/v1/orders/${order.id}`, { token: customer.session.token, retry: true });
          const status = read?.status === 200 && isFinal(read.body.status) ? read.body.status : e.to;
          if (status === 'delivered') tally.deliveryMs.push(Date.parse(e.at) - new Date(order.created_at).getTime());
          tally.add(status === 'delivered' || status === 'rejected' || status === 'payment_failed' ? status : 'cancelled');
          customer.inFlight--;
          this.#checkFinished();
        })();
      },
    });
    this.#watches.add(watch);
  }
}
