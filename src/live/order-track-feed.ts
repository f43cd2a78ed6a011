import type { FastifyBaseLogger } from 'fastify';
import type { OrderEvent, OrderEventsRepository } from '../db/repositories/order-events.repository.ts';
import { minutesToDelivery } from '../domain/delivery-eta.ts';
import type { Point } from '../domain/geo.ts';
import { paceWait } from '../domain/pacing.ts';
import { type OrderStatus, isFinal } from '../domain/order-status.ts';
import type { LiveHub, Position } from './live-hub.ts';
import type { LiveFeed } from './live-streams.ts';
import { NudgedReader } from './nudged-reader.ts';
import { type SseConnection, sseFrame } from './sse-connection.ts';
import { statusFrame } from './status-event.ts';

/**
 * The position frame of one bus message for one order, encoded once for all the order's watchers on the
 * node (they are handed the same message object): a frame per watcher would be ten strings and ten
 * encodings a second where one does.
 */
const positionFrames = new WeakMap<Position, { orderId: string; frame: Buffer }>();

function positionFrame(orderId: string, p: Position): Buffer {
  const cached = positionFrames.get(p);
  if (cached?.orderId === orderId) return cached.frame;
  const frame = Buffer.from(sseFrame('position', { order_id: orderId, courier_id: p.courier_id, lat: p.lat, lng: p.lng, at: p.at }));
  positionFrames.set(p, { orderId, frame });
  return frame;
}

/** Events read at once: an order has about ten; at most ~1 KiB each, a page fits a connection's buffer. */
const PAGE = 50;

export interface OrderTrackDeps {
  events: Pick<OrderEventsRepository, 'forOrder'>;
  hub: LiveHub;
  speedKmh: number;
  positionIntervalMs: number;
  log: FastifyBaseLogger;
}

/** The order as tracking finds it on connect. */
export interface TrackedOrder {
  id: string;
  status: OrderStatus;
  courierId: string | null;
  restaurant: Point;
  delivery: Point;
  prepMinutes: number;
  /** When the kitchen started on it (epoch ms), null while it has not. */
  preparingSince: number | null;
}

/**
 * One watcher of one order. Status events come from `order_events`, after the last one sent, on
 * connect and whenever the bus says the order moved: the database, not the bus, decides what is sent,
 * so a resume is exact and a lost bus message only delays. While a courier holds the order, its
 * positions (at most one per LIVE_POSITION_INTERVAL_MS, the latest winning) and the estimate they give
 * are sent without ids. The stream ends after a final status.
 */
export class OrderTrackFeed implements LiveFeed {
  readonly kind = 'order_track';
  readonly #deps: OrderTrackDeps;
  readonly #order: TrackedOrder;
  #backlog: OrderEvent[] | undefined;
  #lastId: number;
  #conn: SseConnection | undefined;
  #following: string | null = null;
  #offCourier: (() => void) | undefined;
  #latest: Position | undefined;
  #shown: Position | undefined;
  #positionTimer: NodeJS.Timeout | undefined;
  #lastPositionAt = 0;
  #eta: number | undefined;

  /** `backlog`: the events after `lastId`, when the caller has read them already. */
  constructor(deps: OrderTrackDeps, order: TrackedOrder, lastId: number, backlog?: OrderEvent[]) {
    this.#deps = deps;
    this.#order = { ...order };
    this.#lastId = lastId;
    this.#backlog = backlog;
  }

  start(conn: SseConnection) {
    this.#conn = conn;
    const reader = new NudgedReader(
      () => this.#read(),
      (err) => {
        this.#deps.log.error({ err, order_id: this.#order.id }, 'tracking an order failed; the stream ends and its client resumes');
        conn.end('error');
      },
    );
    // Listening before the first read: a move between the two is read either way.
    const offMoved = this.#deps.hub.onOrderMoved(this.#order.id, () => reader.nudge());
    conn.onGone(() => {
      offMoved();
      reader.stop();
      this.#offCourier?.();
      clearTimeout(this.#positionTimer);
    });
    this.#follow(this.#order.courierId);
    reader.nudge();
  }

  async #read(): Promise<boolean> {
    const conn = this.#conn!;
    const events = this.#backlog ?? (await this.#deps.events.forOrder(this.#order.id, this.#lastId, PAGE));
    this.#backlog = undefined;
    if (!(await this.#sendAll(events)) || events.length < PAGE) return false;
    await conn.drained();
    return !conn.done;
  }

  /** False once the stream is over: the final status was sent, or the connection is gone. */
  async #sendAll(events: readonly OrderEvent[]) {
    const conn = this.#conn!;
    for (const e of events) {
      if (!(await conn.deliver('status', statusFrame(e)))) return false;
      this.#lastId = e.id;
      this.#apply(e);
      if (e.kind === 'status' && isFinal(e.to_status)) {
        conn.end('final_status');
        return false;
      }
    }
    return !conn.done;
  }

  #apply(e: OrderEvent) {
    const order = this.#order;
    order.status = e.to_status;
    if (e.kind === 'status' && e.to_status === 'preparing') order.preparingSince = new Date(e.created_at).getTime();
    this.#follow(e.kind === 'courier_assigned' ? e.courier_id : e.kind === 'courier_unassigned' ? null : order.courierId);
    this.#updateEta();
  }

  /** Listens to the positions of the courier holding the order, and to nobody's once it has ended. */
  #follow(courierId: string | null) {
    this.#order.courierId = courierId;
    const holder = courierId !== null && !isFinal(this.#order.status) ? courierId : null;
    if (holder === this.#following) return;
    this.#offCourier?.();
    this.#offCourier = undefined;
    this.#following = holder;
    this.#latest = undefined;
    this.#shown = undefined;
    this.#eta = undefined;
    if (holder) this.#offCourier = this.#deps.hub.onCourierPosition(holder, (p) => this.#onPosition(p));
  }

  #onPosition(p: Position) {
    if (this.#latest) this.#conn!.coalesced();
    this.#latest = p;
    if (this.#positionTimer) return;
    const sent = this.#shown && { at: this.#shown.at, sentAt: this.#lastPositionAt };
    const wait = paceWait(sent, p.at, this.#deps.positionIntervalMs, Date.now());
    if (wait === 0) this.#showPosition();
    else this.#positionTimer = setTimeout(() => this.#showPosition(), wait);
  }

  #showPosition() {
    this.#positionTimer = undefined;
    const p = this.#latest;
    this.#latest = undefined;
    const conn = this.#conn!;
    if (!p || conn.done || p.courier_id !== this.#following) return;
    this.#lastPositionAt = Date.now();
    this.#shown = p;
    conn.offer('position', 'position', positionFrame(this.#order.id, p));
    this.#updateEta();
  }

  /** Sends the minutes to delivery when they changed; an estimate needs a position. */
  #updateEta() {
    const conn = this.#conn!;
    const order = this.#order;
    if (!this.#shown || conn.done) return;
    const minutes = minutesToDelivery({
      status: order.status,
      courier: this.#shown,
      restaurant: order.restaurant,
      delivery: order.delivery,
      speedKmh: this.#deps.speedKmh,
      prepMinutes: order.prepMinutes,
      preparingSince: order.preparingSince,
      now: Date.now(),
    });
    if (minutes === null || minutes === this.#eta) return;
    this.#eta = minutes;
    conn.offer('eta', 'eta', sseFrame('eta', { order_id: order.id, minutes, at: Date.now() }));
  }
}
