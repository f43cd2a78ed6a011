import { performance } from 'node:perf_hooks';

const TICK_MS = 20;

export interface BlockReport {
  blocked_ms: number;
  /** Known for certain when the block happened inside a timed segment (a route handler's synchronous part). */
  culprit?: string;
  /** The route or job that most recently started running: the likely culprit otherwise. */
  last_started: string;
}

/**
 * What asyncio's debug mode gives Python: a warning whenever the main thread was blocked longer than a
 * threshold, with what was running. A 20 ms interval notices late ticks (any block, anywhere); route
 * handlers are also timed directly, which names the culprit exactly when the block is in their
 * synchronous part. The cost is one timer and two clock reads per request.
 */
export class LoopMonitor {
  readonly #thresholdMs: number;
  readonly #report: (r: BlockReport) => void;
  #timer: NodeJS.Timeout | undefined;
  #lastTick = performance.now();
  #lastStarted = 'idle';
  #culprit: string | undefined;

  constructor(opts: { thresholdMs: number; report: (r: BlockReport) => void }) {
    this.#thresholdMs = opts.thresholdMs;
    this.#report = opts.report;
  }

  get enabled() {
    return this.#thresholdMs > 0;
  }

  start() {
    if (!this.enabled || this.#timer) return;
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** Marks the start of a piece of work, such as `GET /v1/feed` or `job compensate`. */
  enter(label: string) {
    this.#lastStarted = label;
  }

  /** Runs a synchronous segment and names it when it alone held the loop too long. */
  timed<T>(label: string, fn: () => T): T {
    this.#lastStarted = label;
    if (!this.enabled) return fn();
    const start = performance.now();
    try {
      return fn();
    } finally {
      if (performance.now() - start > this.#thresholdMs) this.#culprit = label;
    }
  }

  #tick() {
    const now = performance.now();
    const blocked = now - this.#lastTick - TICK_MS;
    this.#lastTick = now;
    if (blocked <= this.#thresholdMs) return;
    this.#report({ blocked_ms: Math.round(blocked), culprit: this.#culprit, last_started: this.#lastStarted });
    this.#culprit = undefined;
  }

  close() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
