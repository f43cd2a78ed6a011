import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;
import type { Metrics } from './metrics.ts';

/** cockatiel's CircuitState numbers, as dabba_partner_breaker_state exports them. */
const BREAKER_STATES = ['closed', 'open', 'half_open', 'isolated'] as const;

interface RequestTotals {
  count: number;
  /** Cumulative counts by bucket upper bound (seconds), ascending. */
  buckets: [number, number][];
}

export interface HealthSample {
  at: number;
  requests_per_second: number;
  /** Upper bound of the latency bucket holding the 99th percentile since the last sample; null when there were no requests. */
  latency_p99_ms: number | null;
  requests_in_flight: number;
  event_loop: { delay_p99_ms: number; utilization: number };
  db_pool: { total: number; idle: number; waiting: number } | null;
  breakers: Record<string, (typeof BREAKER_STATES)[number] | 'unknown'>;
  live_connections: Record<string, number>;
}

/**
 * The server's own figures for the ops stream, once per sample and cheaply: differences of the
 * request histogram's totals since the last sample (no per-request work), the loop's delay from its
 * own histogram and its utilisation from perf_hooks, the rest read from what `/metrics` reads.
 * Measures only while started: no ops watcher, no cost.
 */
export class HealthFigures {
  readonly #metrics: Metrics | undefined;
  #delay: IntervalHistogram | undefined;
  #elu = performance.eventLoopUtilization();
  #last: RequestTotals & { at: number } = { count: 0, buckets: [], at: 0 };

  constructor(metrics: Metrics | undefined) {
    this.#metrics = metrics;
  }

  async start() {
    this.#delay = monitorEventLoopDelay({ resolution: 10 });
    this.#delay.enable();
    this.#elu = performance.eventLoopUtilization();
    this.#last = { ...(await this.#requests()), at: performance.now() };
  }

  stop() {
    this.#delay?.disable();
    this.#delay = undefined;
  }

  async sample(): Promise<HealthSample> {
    const m = this.#metrics;
    const now = performance.now();
    const totals = await this.#requests();
    const seconds = Math.max(0.001, (now - this.#last.at) / 1000);
    const count = totals.count - this.#last.count;
    const p99 = count > 0 ? quantileBound(totals.buckets, this.#last.buckets, count * 0.99) : null;
    this.#last = { ...totals, at: now };
    const elu = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(elu, this.#elu).utilization;
    this.#elu = elu;
    const delayP99 = this.#delay && this.#delay.count > 0 ? this.#delay.percentile(99) / 1e6 : 0;
    this.#delay?.reset();
    const pool = m?.sources.pool;
    const breakers: HealthSample['breakers'] = {};
    for (const v of (await m?.partnerBreakerState.get())?.values ?? []) {
      breakers[String(v.labels.partner)] = BREAKER_STATES[v.value] ?? 'unknown';
    }
    return {
      at: Date.now(),
      requests_per_second: Math.round((count / seconds) * 10) / 10,
      latency_p99_ms: p99 === null ? null : Math.round(p99 * 1000),
      requests_in_flight: (await m?.httpInFlight.get())?.values[0]?.value ?? 0,
      event_loop: { delay_p99_ms: Math.round(delayP99 * 10) / 10, utilization: Math.round(utilization * 1000) / 1000 },
      db_pool: pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : null,
      breakers,
      live_connections: m?.liveSources.connections?.() ?? {},
    };
  }

  /** Finished requests and their latency buckets so far, over every route (streams and sockets are not timed: plugins/live-route.ts). */
  async #requests(): Promise<RequestTotals> {
    const metric = await this.#metrics?.httpSeconds.get();
    let count = 0;
    const buckets = new Map<number, number>();
    for (const v of metric?.values ?? []) {
      if (v.metricName?.endsWith('_count')) count += v.value;
      else if (v.metricName?.endsWith('_bucket')) {
        const { le: bound } = v.labels as { le?: string | number };
        const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
        buckets.set(le, (buckets.get(le) ?? 0) + v.value);
      }
    }
    return { count, buckets: [...buckets].sort(([a], [b]) => a - b) };
  }
}

/**
 * The smallest bucket bound under which `rank` of the requests since `before` fell; the largest finite
 * bound when it is the open-ended bucket (the answer reads "that long or more").
 */
function quantileBound(now: [number, number][], before: [number, number][], rank: number): number {
  const earlier = new Map(before);
  let finite = 0;
  for (const [le, cumulative] of now) {
    if (Number.isFinite(le)) finite = le;
    if (cumulative - (earlier.get(le) ?? 0) >= rank) return Number.isFinite(le) ? le : finite;
  }
  return finite;
}
