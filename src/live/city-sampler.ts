import type { FastifyBaseLogger } from 'fastify';
import type { OrderEventsRepository } from '../db/repositories/order-events.repository.ts';
import type { HealthFigures } from '../ops/health-figures.ts';
import type { LiveFeed } from './live-streams.ts';
import { type SseConnection, sseFrame } from './sse-connection.ts';

/** What the ops view needs of the couriers on shift (the CourierDirectory's snapshot). */
export interface CourierSnapshots {
  snapshot(): { id: string; lat: number; lng: number; state: 'available' | 'offered' | 'busy' | 'stale'; at: number }[];
}

/** Orders shown at most: the map of a city, not an export. */
const MAX_ORDERS = 5_000;

export interface CitySamplerDeps {
  orders: Pick<OrderEventsRepository, 'inFlight'>;
  couriers?: CourierSnapshots;
  health: HealthFigures;
  intervalMs: number;
  log: FastifyBaseLogger;
}

/**
 * The whole city for the ops stream, sampled once per interval by one sampler per node, whatever the
 * number of watchers: one query for the orders in flight, the couriers from the directory in memory,
 * the server's own figures, each framed once and offered to every watcher (coalesced: a watcher that
 * reads slowly gets the latest sample, not a queue of old ones). It runs only while someone watches.
 */
export class CitySampler {
  readonly #deps: CitySamplerDeps;
  readonly #watchers = new Set<SseConnection>();
  #timer: NodeJS.Timeout | undefined;
  #sampling = false;
  #last: { city: Buffer; health: Buffer } | undefined;

  constructor(deps: CitySamplerDeps) {
    this.#deps = deps;
  }

  feed(): LiveFeed {
    return { kind: 'ops_stream', start: (conn) => this.#join(conn) };
  }

  close() {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#deps.health.stop();
  }

  #join(conn: SseConnection) {
    this.#watchers.add(conn);
    conn.onGone(() => {
      this.#watchers.delete(conn);
      if (this.#watchers.size === 0) this.close();
    });
    if (this.#last) {
      conn.offer('city', 'city', this.#last.city);
      conn.offer('health', 'health', this.#last.health);
    }
    if (!this.#timer) {
      this.#last = undefined;
      this.#timer = setInterval(() => void this.#tick(), this.#deps.intervalMs).unref();
      const first = () => void this.#tick();
      void this.#deps.health.start().then(first, first);
    }
  }

  /** A tick while the last one still waits on the database is skipped, not queued. */
  async #tick() {
    if (this.#sampling || this.#watchers.size === 0) return;
    this.#sampling = true;
    try {
      const [orders, health] = await Promise.all([this.#deps.orders.inFlight(MAX_ORDERS), this.#deps.health.sample()]);
      const couriers = this.#deps.couriers?.snapshot() ?? [];
      const at = Date.now();
      const frames = {
        city: Buffer.from(sseFrame('city', { at, couriers, orders, orders_truncated: orders.length === MAX_ORDERS })),
        health: Buffer.from(sseFrame('health', health)),
      };
      this.#last = frames;
      for (const conn of this.#watchers) {
        conn.offer('city', 'city', frames.city);
        conn.offer('health', 'health', frames.health);
      }
    } catch (err) {
      this.#deps.log.warn({ err }, 'sampling the city for the ops stream failed; the next tick tries again');
    } finally {
      this.#sampling = false;
    }
  }
}
