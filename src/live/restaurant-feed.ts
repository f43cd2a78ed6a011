import type { FastifyBaseLogger } from 'fastify';
import type { OrderEventsRepository } from '../db/repositories/order-events.repository.ts';
import type { LiveHub } from './live-hub.ts';
import type { LiveFeed } from './live-streams.ts';
import { NudgedReader } from './nudged-reader.ts';
import type { SettledCursor } from './settled-cursor.ts';
import { type SseConnection, sseFrame } from './sse-connection.ts';
import { statusFrame } from './status-event.ts';

/** Events read at once: at most ~1 KiB each, a page fits a connection's buffer. */
const PAGE = 50;
/** How soon events held back for a move still committing are read again, when no nudge comes first. */
const SETTLE_RETRY_MS = 25;

export interface RestaurantFeedDeps {
  events: Pick<OrderEventsRepository, 'forRestaurant'>;
  hub: LiveHub;
  log: FastifyBaseLogger;
}

/**
 * A restaurant's owner (or an admin) watching its orders: optionally a snapshot of its orders in
 * progress first, then every status event of any of its orders, read from `order_events` after the
 * last one sent whenever the bus says one of them moved. Many orders' moves commit in any order, so
 * the cursor sends an event only once no smaller id can still appear (see SettledCursor), and
 * Last-Event-ID resumes exactly.
 */
export class RestaurantFeed implements LiveFeed {
  readonly kind = 'restaurant_stream';
  readonly #deps: RestaurantFeedDeps;
  readonly #restaurantId: string;
  readonly #cursor: SettledCursor;
  readonly #snapshot: unknown;
  #conn: SseConnection | undefined;
  #reader: NudgedReader | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(deps: RestaurantFeedDeps, restaurantId: string, cursor: SettledCursor, snapshot?: unknown) {
    this.#deps = deps;
    this.#restaurantId = restaurantId;
    this.#cursor = cursor;
    this.#snapshot = snapshot;
  }

  start(conn: SseConnection) {
    this.#conn = conn;
    const reader = new NudgedReader(
      () => this.#read(),
      (err) => {
        this.#deps.log.error({ err, restaurant_id: this.#restaurantId }, 'a restaurant stream failed; it ends and its client resumes');
        conn.end('error');
      },
    );
    this.#reader = reader;
    const off = this.#deps.hub.onRestaurantMoved(this.#restaurantId, () => reader.nudge());
    conn.onGone(() => {
      off();
      reader.stop();
      clearTimeout(this.#retry);
    });
    void this.#begin();
  }

  async #begin() {
    const conn = this.#conn!;
    if (this.#snapshot !== undefined) {
      if (!(await conn.deliver('snapshot', sseFrame('snapshot', this.#snapshot)))) return;
      // A large snapshot goes out before the events after it are read.
      await conn.drained();
    }
    this.#reader?.nudge();
  }

  async #read(): Promise<boolean> {
    const conn = this.#conn!;
    const { events, horizon } = await this.#deps.events.forRestaurant(this.#restaurantId, this.#cursor.lastId, PAGE);
    const { ready, held } = this.#cursor.settle(events, horizon);
    for (const e of ready) {
      if (!(await conn.deliver('status', statusFrame(e)))) return false;
      this.#cursor.sent(e.id);
    }
    if (held) {
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        this.#reader?.nudge();
      }, SETTLE_RETRY_MS);
      return false;
    }
    if (events.length < PAGE || conn.done) return false;
    await conn.drained();
    return !conn.done;
  }
}
