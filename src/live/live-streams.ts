import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../ops/metrics.ts';
import { detached } from '../ops/tracing.ts';
import { type EndReason, type Hijackable, SseConnection, type SseObserver, type SseSettings, type StreamKind } from './sse-connection.ts';

/** What a stream runs once its connection is open: it writes to it until it ends it or the client goes. */
export interface LiveFeed {
  readonly kind: StreamKind;
  start(conn: SseConnection): void;
}

type LiveMetrics = Pick<Metrics, 'liveMessagesSent' | 'liveMessagesDropped' | 'liveDisconnects'>;

const KINDS: readonly StreamKind[] = ['order_track', 'restaurant_stream', 'ops_stream'];

/**
 * The SSE streams open on this node: counted by kind for the metrics, told to reconnect elsewhere on
 * shutdown, and the one place their messages, drops, buffer high-water marks and disconnects are
 * counted and logged.
 */
export class LiveStreams implements SseObserver {
  readonly #settings: SseSettings & { reconnectMs: number };
  readonly #metrics: LiveMetrics | undefined;
  readonly #log: FastifyBaseLogger;
  readonly #open = new Set<SseConnection>();
  readonly #counts = new Map<StreamKind, number>(KINDS.map((k) => [k, 0]));
  #highWater = new Map<StreamKind, number>();
  #closing = false;

  constructor(opts: { settings: SseSettings & { reconnectMs: number }; metrics?: LiveMetrics; log: FastifyBaseLogger }) {
    this.#settings = opts.settings;
    this.#metrics = opts.metrics;
    this.#log = opts.log;
  }

  /**
   * Takes the response over and runs the feed on it; a node already shutting down sends the client
   * elsewhere at once. Outside the request's trace: a stream lives for hours, and every timer and
   * subscription it makes would otherwise hold the request's trace context (~0.5 KB) for as long.
   */
  serve(reply: Hijackable, feed: LiveFeed) {
    detached(() => this.#serve(reply, feed));
  }

  #serve(reply: Hijackable, feed: LiveFeed) {
    const conn = new SseConnection(reply, feed.kind, this.#settings, this);
    if (this.#closing) {
      conn.reconnect(this.#settings.reconnectMs);
      return;
    }
    this.#open.add(conn);
    this.#counts.set(feed.kind, (this.#counts.get(feed.kind) ?? 0) + 1);
    conn.onGone(() => {
      this.#open.delete(conn);
      this.#counts.set(feed.kind, (this.#counts.get(feed.kind) ?? 1) - 1);
    });
    feed.start(conn);
  }

  /** Open streams by kind. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** The largest buffer each kind queued since the last call (a scrape), then forgotten. */
  takeHighWater(): Record<string, number> {
    const marks = Object.fromEntries(KINDS.map((k) => [k, this.#highWater.get(k) ?? 0]));
    this.#highWater = new Map();
    return marks;
  }

  /**
   * Graceful shutdown, before the server waits for connections to end (a stream never ends by itself):
   * each client is told to reconnect after LIVE_RECONNECT_MS, which a balancer sends to a live node,
   * where Last-Event-ID resumes it without a gap.
   */
  closeAll() {
    this.#closing = true;
    for (const conn of this.#open) conn.reconnect(this.#settings.reconnectMs);
  }

  sent(kind: StreamKind, type: string) {
    this.#metrics?.liveMessagesSent.inc({ kind, type });
  }

  coalesced(kind: StreamKind) {
    this.#metrics?.liveMessagesDropped.inc({ kind, reason: 'coalesced' });
  }

  buffered(kind: StreamKind, bytes: number) {
    if (bytes > (this.#highWater.get(kind) ?? 0)) this.#highWater.set(kind, bytes);
  }

  ended(kind: StreamKind, reason: EndReason, detail?: Record<string, unknown>) {
    this.#metrics?.liveDisconnects.inc({ kind, reason });
    if (reason === 'slow_consumer') {
      this.#metrics?.liveMessagesDropped.inc({ kind, reason });
      this.#log.warn({ kind, reason, max_buffer_bytes: this.#settings.maxBufferBytes, ...detail }, `${kind} stream cut: its client read too slowly; it resumes from Last-Event-ID`);
    }
  }
}
