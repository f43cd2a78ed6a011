import type { Static } from 'typebox';
import type { Point } from '../../src/domain/geo.ts';
import type { OrderStatus } from '../../src/domain/order-status.ts';
import type { ServerMessage } from '../../src/live/courier-messages.ts';
import { isFinal } from '../../src/domain/order-status.ts';
import type { Order } from '../../src/routes/orders/schema.ts';
import type { CityApi, Session } from './api-client.ts';
import { between, type CityClock, SECOND } from './clock.ts';
import { CourierLink } from './courier-link.ts';
import { CITY_SPEED_KMH, type CityArea, type Leg, arrived, positionOn, ride, stay, wallSpeedKmh, wanderFrom } from './geometry.ts';
import { LiveStream } from './live-stream.ts';
import type { Tally } from './report.ts';

type Offer = Extract<ServerMessage, { type: 'offer' }>;
type CityOrder = Static<typeof Order>;

/** City delays. */
const THINK_MS = [2 * SECOND, 10 * SECOND] as const;
const IDLE_PAUSE_MS = [0, 20 * SECOND] as const;
/** Real milliseconds: how long a courier stands before looking again when nothing wakes it, and waits after a failed move. */
const STAND_MS = 60_000;
const MOVE_RETRY_MS = 1_000;
const MOVE_ATTEMPTS = 10;
const OFF_SHIFT_TIMEOUT_MS = 2_000;

export interface CourierDeps {
  api: CityApi;
  clock: CityClock;
  tally: Tally;
  rand: () => number;
  area: CityArea;
  /** The API's COURIER_MAX_SPEED_KMH: no courier is seen to move that fast. */
  maxSpeedKmh: number;
  declineRate: number;
}

interface Job {
  orderId: string;
  pickup: Point;
  dropoff: Point;
  pickedUp: boolean;
  /** The order's status as its track stream last said. */
  status?: OrderStatus;
  watch?: LiveStream;
  /** Standing at the counter: a status from the stream wakes the courier to look again. */
  waiting?: boolean;
}

/**
 * One courier, as its app and its rider behave: on shift, a socket open, a position sent about once a
 * second (the fleet's tick), most offers accepted after a moment's thought; an accepted order is
 * ridden to in a straight line at the courier's city speed, collected once the restaurant has it
 * ready (the order's track stream says so), ridden to the customer and delivered, each move sent over
 * the socket. In between, the courier wanders a few hundred metres at a time, as couriers reposition.
 */
export class CourierAgent {
  readonly #deps: CourierDeps;
  readonly #session: Session;
  readonly #wallKmh: number;
  #link: CourierLink | undefined;
  #position: Point = { lat: 0, lng: 0 };
  #leg: Leg = { from: this.#position, to: this.#position, startMs: 0, durationMs: 0 };
  #legDone: ((arrived: boolean) => void) | undefined;
  #job: Job | undefined;
  #offers = new Map<string, Offer>();
  #stopped = false;
  #shifting = false;
  #located = false;

  constructor(deps: CourierDeps, session: Session) {
    this.#deps = deps;
    this.#session = session;
    this.#wallKmh = wallSpeedKmh(between(deps.rand, ...CITY_SPEED_KMH), deps.clock.timeScale, deps.maxSpeedKmh);
  }

  /** On shift where the courier was last seen, back to an order still theirs, the socket open. False if the shift was refused. */
  async start(): Promise<boolean> {
    if (!(await this.#goOnShift())) return false;
    this.#deps.tally.add('couriers_on_shift');
    await this.#resume();
    this.#link = new CourierLink(this.#deps, this.#session.token, (m) => this.#receive(m));
    void this.#live();
    return true;
  }

  /** The fleet's tick: where the courier is now, an arrival noticed, the position sent. */
  tick(nowMs: number) {
    if (this.#stopped) return;
    this.#position = positionOn(this.#leg, nowMs);
    if (this.#legDone && arrived(this.#leg, nowMs)) this.#endLeg(true);
    if (this.#link?.send({ type: 'position', lat: this.#position.lat, lng: this.#position.lng, at: nowMs })) this.#deps.tally.add('positions_sent');
  }

  async close() {
    this.#stopped = true;
    this.#endLeg(false);
    this.#job?.watch?.close();
    this.#link?.close();
    await this.#deps.api.call('go off shift', 'POST', '/v1/courier/shift', {
      token: this.#session.token,
      body: { online: false },
      // Stopped with food in the bag: the API keeps the courier on shift until it is delivered.
      expected: [409],
      signal: AbortSignal.timeout(OFF_SHIFT_TIMEOUT_MS),
    });
  }

  /** The first time where the courier was last seen (the API remembers), afterwards where the courier is. */
  async #goOnShift() {
    if (this.#shifting) return false;
    this.#shifting = true;
    try {
      const here = this.#located ? { lat: this.#position.lat, lng: this.#position.lng } : {};
      const answer = await this.#deps.api.call<{ position: Point | null }>('go on shift', 'POST', '/v1/courier/shift', {
        token: this.#session.token,
        body: { online: true, ...here },
        retry: true,
      });
      if (answer?.status !== 200 || !answer.body.position) return false;
      if (!this.#located) {
        this.#position = answer.body.position;
        this.#leg = stay(this.#position, 0, Date.now());
        this.#located = true;
      }
      return true;
    } finally {
      this.#shifting = false;
    }
  }

  /** An order the courier held when the city last stopped (newest first): the app picks it up again. */
  async #resume() {
    const { api } = this.#deps;
    const mine = await api.call<{ items: CityOrder[] }>('my orders', 'GET', '/v1/orders?limit=10', { token: this.#session.token, retry: true });
    const held = mine?.body?.items?.find((o) => o.courier_id === this.#session.id && ['confirmed', 'preparing', 'ready', 'picked_up'].includes(o.status));
    if (!held) return;
    const restaurant = await api.call<Point>('restaurant', 'GET', `/v1/restaurants/${held.restaurant_id}`, { retry: true });
    if (restaurant?.status !== 200) return;
    this.#take({ orderId: held.id, pickup: restaurant.body, dropoff: { lat: held.delivery_lat, lng: held.delivery_lng }, pickedUp: held.status === 'picked_up' });
  }

  async #live() {
    while (!this.#stopped) {
      const began = Date.now();
      if (this.#job) await this.#deliver(this.#job);
      else await this.#wander();
      // Whatever went wrong, a courier never spins: at least a moment passes between two turns.
      if (Date.now() - began < 5) await this.#deps.clock.sleepWall(MOVE_RETRY_MS);
    }
  }

  async #wander() {
    const { area, rand, clock } = this.#deps;
    if (!(await this.#travel(ride(this.#position, wanderFrom(this.#position, area, rand), this.#wallKmh, Date.now())))) return;
    await this.#travel(stay(this.#position, clock.wall(between(rand, ...IDLE_PAUSE_MS)), Date.now()));
  }

  async #deliver(job: Job) {
    const { tally } = this.#deps;
    if (!job.pickedUp) {
      if (!(await this.#travel(ride(this.#position, job.pickup, this.#wallKmh, Date.now())))) return;
      // At the counter until the food is ready; the track stream wakes the courier when the order moves.
      job.waiting = true;
      while (this.#job === job && job.status !== 'ready' && job.status !== 'picked_up') {
        if (!(await this.#travel(stay(this.#position, STAND_MS, Date.now()))) && this.#stopped) return;
      }
      job.waiting = false;
      if (this.#job !== job) return;
      if (job.status === 'ready' && !(await this.#moveOrder(job, 'picked_up'))) return;
      job.pickedUp = true;
      tally.add('picked_up');
    }
    if (!(await this.#travel(ride(this.#position, job.dropoff, this.#wallKmh, Date.now())))) return;
    if (!(await this.#moveOrder(job, 'delivered'))) return;
    tally.add('dropped_off');
    this.#drop(job);
  }

  /** A move over the socket, tried again while the socket is down; false when the order is no longer this courier's to move. */
  async #moveOrder(job: Job, to: 'picked_up' | 'delivered') {
    for (let attempt = 1; attempt <= MOVE_ATTEMPTS; attempt++) {
      if (this.#job !== job) return false;
      if (await this.#link?.move(job.orderId, to)) return true;
      if (!(await this.#deps.clock.sleepWall(MOVE_RETRY_MS))) return false;
    }
    this.#deps.tally.error(`courier ${to}: gave up`);
    this.#drop(job);
    return false;
  }

  #receive(message: ServerMessage) {
    const { tally, clock, rand, declineRate } = this.#deps;
    switch (message.type) {
      case 'hello':
      case 'shift':
        // Taken off shift (silent too long, or a restart lost it): back on, where the courier is.
        if (!message.on_shift && !this.#stopped) void this.#goOnShift();
        return;
      case 'error':
        if (message.code === 'off_shift' && !this.#stopped) void this.#goOnShift();
        return;
      case 'offer': {
        tally.add('offers_received');
        this.#offers.set(message.offer_id, message);
        const answer = (accept: boolean) => {
          if (this.#link?.send({ type: accept ? 'accept' : 'decline', offer_id: message.offer_id })) tally.add(accept ? 'offers_accepted' : 'offers_declined');
        };
        if (this.#job) return answer(false);
        const thinkMs = Math.min(clock.wall(between(rand, ...THINK_MS)), (message.expires_at - Date.now()) / 2);
        clock.afterWall(thinkMs, () => answer(!this.#job && rand() >= declineRate));
        return;
      }
      case 'offer_closed': {
        const offer = this.#offers.get(message.offer_id);
        this.#offers.delete(message.offer_id);
        if (message.outcome === 'expired') tally.add('offers_expired');
        if (message.outcome === 'withdrawn') tally.add('offers_withdrawn');
        if (message.outcome !== 'assigned' || !offer) return;
        tally.add('offers_assigned');
        this.#take({ orderId: offer.order_id, pickup: offer.pickup, dropoff: offer.dropoff, pickedUp: false });
        return;
      }
    }
  }

  /** An order is now this courier's: watch it, and turn from whatever the courier was doing. */
  #take(job: Job) {
    if (this.#job) this.#drop(this.#job);
    this.#job = job;
    job.watch = new LiveStream(this.#deps, 'courier order track', `/v1/orders/${job.orderId}/track`, this.#session.token, {
      status: (e: { kind: string; to: OrderStatus }) => {
        if (e.kind !== 'status') return;
        job.status = e.to;
        // Cancelled, or delivered by someone else: nothing left to do.
        const ended = isFinal(e.to) && this.#job === job;
        if (ended) this.#drop(job);
        if (ended || job.waiting) this.#endLeg(false);
      },
    });
    this.#endLeg(false);
  }

  #drop(job: Job) {
    job.watch?.close();
    if (this.#job === job) this.#job = undefined;
  }

  #travel(leg: Leg): Promise<boolean> {
    this.#endLeg(false);
    if (this.#stopped) return Promise.resolve(false);
    this.#leg = leg;
    return new Promise((resolve) => (this.#legDone = resolve));
  }

  /** Ends the current leg where the courier is: `arrived` when it got there, else cut short (a new job, a status, the city stopping). */
  #endLeg(reached: boolean) {
    const done = this.#legDone;
    this.#legDone = undefined;
    if (!reached) {
      const now = Date.now();
      this.#position = positionOn(this.#leg, now);
      this.#leg = stay(this.#position, 0, now);
    }
    done?.(reached);
  }
}
