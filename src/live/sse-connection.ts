import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a stream needs of a Fastify reply: taking the response over from Fastify, and the headers hooks have set. */
export interface Hijackable {
  hijack(): unknown;
  readonly raw: ServerResponse;
  readonly request: { readonly raw: IncomingMessage };
}

export type StreamKind = 'order_track' | 'restaurant_stream' | 'ops_stream';
/** Why the server ended a stream (a client going away is not counted). */
export type EndReason = 'final_status' | 'slow_consumer' | 'shutdown' | 'error';

export interface SseSettings {
  /** What the client is told to wait before reconnecting (`retry:`) after a drop. */
  retryMs: number;
  heartbeatMs: number;
  /** Bytes the connection may hold for a slow reader before a status event cuts it. */
  maxBufferBytes: number;
}

/** Where a connection reports what it did: the registry, which turns it into metrics and logs. */
export interface SseObserver {
  sent(kind: StreamKind, type: string): void;
  coalesced(kind: StreamKind): void;
  buffered(kind: StreamKind, bytes: number): void;
  ended(kind: StreamKind, reason: EndReason, detail?: Record<string, unknown>): void;
}

/**
 * One message in SSE framing. JSON never holds a raw line break, so `data` is one line; `id` is given
 * to status events only, so a browser's Last-Event-ID always names the last status event it received.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A frame as written: a string, or bytes encoded once and shared by every watcher it goes to. */
export type Frame = string | Uint8Array;

const frameBytes = (frame: Frame) => (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength);

const HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  // The body ends when the connection does (no chunked framing): each frame is one write of bytes shared
  // by every watcher, not three per watcher, and a stream's connection is never reused anyway.
  connection: 'close',
  'cache-control': 'no-store',
  // Tells nginx-style proxies not to buffer the stream.
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
};

/**
 * A Server-Sent Events response with a bounded outgoing buffer. Status events are never dropped: one
 * that would take what the socket has not yet sent past `maxBufferBytes` cuts the connection instead,
 * and the client resumes from Last-Event-ID. Everything else (positions, estimates, samples) is
 * coalescible: while the socket is backed up only the latest of each key waits, sent on 'drain'. So a
 * connection holds at most `maxBufferBytes` plus one message per key, however slowly its client reads.
 */
export class SseConnection {
  readonly kind: StreamKind;
  readonly #res: ServerResponse;
  readonly #settings: SseSettings;
  readonly #observer: SseObserver;
  readonly #heartbeat: NodeJS.Timeout;
  #pending: Map<string, { type: string; frame: Frame }> | undefined;
  #lastWriteAt = Date.now();
  #done = false;
  #gone = false;
  // Sized to fit: an array grown by push reserves 17 slots, and there is one of these per idle watcher.
  #onGone: (() => void)[] = [];

  constructor(reply: Hijackable, kind: StreamKind, settings: SseSettings, observer: SseObserver) {
    this.kind = kind;
    this.#settings = settings;
    this.#observer = observer;
    reply.hijack();
    const res = reply.raw;
    this.#res = res;
    // Only the stream's own headers (stream routes set no others; see the streams' routes): a response
    // keeps its header block for its whole life, so every header more is paid by every idle watcher.
    res.removeHeader('transfer-encoding');
    res.writeHead(200, HEADERS);
    res.write(`retry: ${settings.retryMs}\n\n`);
    res.on('drain', () => this.#flushPending());
    // `on`, not `once`, for events that come once anyway: a once-wrapper is a closure more per idle watcher.
    res.on('close', () => this.#closed());
    // A request that closes with an error was abandoned by its client (a request that merely finished
    // reading its empty body closes too, without one).
    const req = reply.request.raw;
    req.on('close', () => {
      if (req.errored) res.destroy();
    });
    this.#heartbeat = setInterval(() => this.#beat(), settings.heartbeatMs).unref();
  }

  /** True once the stream is ending or gone: nothing more is written. */
  get done() {
    return this.#done;
  }

  /** True while the socket has more queued than it wants: a reader of pages waits for `drained()` before the next. */
  get backedUp() {
    return this.#res.writableNeedDrain;
  }

  drained(): Promise<void> {
    if (!this.backedUp || this.#gone) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off('drain', done);
        this.#res.off('close', done);
        resolve();
      };
      this.#res.on('drain', done);
      this.#res.on('close', done);
    });
  }

  /** Runs once the connection is gone, whoever ended it. */
  onGone(fn: () => void) {
    if (this.#gone) fn();
    else this.#onGone = this.#onGone.concat(fn);
  }

  /** A status event: written, or the connection is cut for a slow reader. False when nothing more can be sent. */
  send(type: string, frame: Frame): boolean {
    if (this.#done) return false;
    if (this.#wouldOverflow(frame)) {
      this.#cut('slow_consumer', { queued_bytes: this.#res.writableLength });
      return false;
    }
    this.#write(type, frame);
    return true;
  }

  /**
   * `send` for a run of events: when the next would not fit, the loop turns once first. Node counts a
   * write the kernel took at once as queued until the next tick, so only what is still queued after
   * that is what the client has not read.
   */
  async deliver(type: string, frame: Frame): Promise<boolean> {
    if (!this.#done && this.#wouldOverflow(frame)) await new Promise((resolve) => setImmediate(resolve));
    return this.send(type, frame);
  }

  /** Always room on an empty buffer, so one large event cannot cut a reader who keeps up. */
  #wouldOverflow(frame: Frame) {
    const queued = this.#res.writableLength;
    return queued > 0 && queued + frameBytes(frame) > this.#settings.maxBufferBytes;
  }

  /** A coalescible message: written now, or kept (replacing an older one of the same key) until the socket drains. */
  offer(key: string, type: string, frame: Frame) {
    if (this.#done) return;
    if (!this.#res.writableNeedDrain) {
      this.#write(type, frame);
      return;
    }
    this.#pending ??= new Map();
    if (this.#pending.has(key)) this.coalesced();
    this.#pending.set(key, { type, frame });
  }

  /** Counts a coalescible message replaced before it was written. */
  coalesced() {
    this.#observer.coalesced(this.kind);
  }

  /** Ends the stream after what is queued has gone out. */
  end(reason: EndReason) {
    if (this.#done) return;
    this.#done = true;
    this.#observer.ended(this.kind, reason);
    this.#res.end();
  }

  /** Shutdown: the client is told to come back after `retryMs` (to another node) and the stream ends. */
  reconnect(retryMs: number) {
    if (this.#done) return;
    if (this.#res.writableNeedDrain) {
      this.#cut('shutdown');
      return;
    }
    this.#res.write(`retry: ${retryMs}\nevent: reconnect\ndata: {}\n\n`);
    this.#observer.sent(this.kind, 'reconnect');
    this.end('shutdown');
  }

  /** Ends the stream at once, dropping whatever is queued. */
  #cut(reason: EndReason, detail?: Record<string, unknown>) {
    this.#done = true;
    this.#observer.ended(this.kind, reason, detail);
    this.#res.destroy();
  }

  #write(type: string, frame: Frame) {
    this.#res.write(frame);
    this.#lastWriteAt = Date.now();
    this.#observer.sent(this.kind, type);
    this.#observer.buffered(this.kind, this.#res.writableLength);
  }

  #flushPending() {
    const pending = this.#pending;
    if (!pending || this.#done) return;
    for (const [key, { type, frame }] of pending) {
      if (this.#res.writableNeedDrain) return;
      pending.delete(key);
      this.#write(type, frame);
    }
  }

  /** A comment line keeps proxies from closing an idle stream; not needed while messages flow or the socket is backed up. */
  #beat() {
    if (this.#done || this.#res.writableNeedDrain) return;
    if (Date.now() - this.#lastWriteAt < this.#settings.heartbeatMs / 2) return;
    this.#res.write(':\n\n');
    this.#lastWriteAt = Date.now();
  }

  #closed() {
    if (this.#gone) return;
    this.#done = true;
    this.#gone = true;
    clearInterval(this.#heartbeat);
    this.#pending = undefined;
    const gone = this.#onGone;
    this.#onGone = [];
    for (const fn of gone) fn();
  }
}
