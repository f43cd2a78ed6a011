import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Histogram } from 'prom-client';
import { BREAKER_STATES, type HealthSample } from './health-sample.ts';
import type { Metrics } from './metrics.ts';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;

interface Totals {
  count: number;
  /** Cumulative counts by bucket upper bound (seconds), ascending. */
  buckets: [number, number][];
}

const EMPTY: Totals = { count: 0, buckets: [] };

/**
 * The server's own figures for the ops stream, once per sample and cheaply: differences of the
 * request and partner-call histograms' totals since the last sample (no per-request work), the loop's
 * delay from its own histogram and its utilisation from perf_hooks, the rest read from what `/metrics`
 * reads. Measures only while started: no ops watcher, no cost.
 */
export class HealthFigures {
  readonly #metrics: Metrics | undefined;
  #delay: IntervalHistogram | undefined;
  #elu = performance.eventLoopUtilization();
  #last: { at: number; requests: Totals; partners: Map<string, Totals> } = { at: 0, requests: EMPTY, partners: new Map() };

  constructor(metrics: Metrics | undefined) {
    this.#metrics = metrics;
  }

  async start() {
    this.#delay = monitorEventLoopDelay({ resolution: 10 });
    this.#delay.enable();
    this.#elu = performance.eventLoopUtilization();
    this.#last = { at: performance.now(), ...(await this.#totals()) };
  }

  stop() {
    this.#delay?.disable();
    this.#delay = undefined;
  }

  async sample(): Promise<HealthSample> {
    const m = this.#metrics;
    const now = performance.now();
    const { requests, partners } = await this.#totals();
    const seconds = Math.max(0.001, (now - this.#last.at) / 1000);
    const count = requests.count - this.#last.requests.count;
    const p99 = p99Since(requests, this.#last.requests);
    const partnerP99: HealthSample['partner_latency_p99_ms'] = {};
    for (const [partner, totals] of partners) partnerP99[partner] = p99Since(totals, this.#last.partners.get(partner) ?? EMPTY);
    this.#last = { at: now, requests, partners };
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
      latency_p99_ms: p99,
      requests_in_flight: (await m?.httpInFlight.get())?.values[0]?.value ?? 0,
      event_loop: { delay_p99_ms: Math.round(delayP99 * 10) / 10, utilization: Math.round(utilization * 1000) / 1000 },
      db_pool: pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : null,
      breakers,
      partner_latency_p99_ms: partnerP99,
      live_connections: m?.liveSources.connections?.() ?? {},
    };
  }

  /**
   * Finished requests over every route (streams and sockets are not timed: plugins/live-route.ts), and
   * partner calls per partner, with their latency buckets so far.
   */
  async #totals() {
    const [requests, partners] = await Promise.all([histogramTotals(this.#metrics?.httpSeconds), histogramTotals(this.#metrics?.partnerCallSeconds, 'partner')]);
    return { requests: requests.get('') ?? EMPTY, partners };
  }
}

/** A histogram's count and cumulative buckets summed over its series: all together, or per value of one label. */
async function histogramTotals(metric: Histogram<string> | undefined, by?: string): Promise<Map<string, Totals>> {
  const groups = new Map<string, { count: number; buckets: Map<number, number> }>();
  for (const v of (await metric?.get())?.values ?? []) {
    const key = by === undefined ? '' : String(v.labels[by] ?? '');
    let group = groups.get(key);
    if (!group) {
      group = { count: 0, buckets: new Map() };
      groups.set(key, group);
    }
    if (v.metricName?.endsWith('_count')) group.count += v.value;
    else if (v.metricName?.endsWith('_bucket')) {
      const { le: bound } = v.labels as { le?: string | number };
      const le = bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound);
      group.buckets.set(le, (group.buckets.get(le) ?? 0) + v.value);
    }
  }
  return new Map([...groups].map(([key, g]) => [key, { count: g.count, buckets: [...g.buckets].sort(([a], [b]) => a - b) }]));
}

/** The p99 in milliseconds of what was observed between two totals; null when nothing was. */
function p99Since(now: Totals, before: Totals): number | null {
  const count = now.count - before.count;
  return count > 0 ? Math.round(quantileBound(now.buckets, before.buckets, count * 0.99) * 1000) : null;
}

/**
 * The smallest bucket bound under which `rank` of the observations since `before` fell; the largest finite
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
