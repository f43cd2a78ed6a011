import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

type IntervalHistogram = ReturnType<typeof monitorEventLoopDelay>;
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createLiveMetrics } from './live-metrics.ts';

/** What the scrape-time gauges read; set by the app once the pool and the job queue exist. */
export interface MetricSources {
  pool?: { totalCount: number; idleCount: number; waitingCount: number };
  jobs?: { depth(): Promise<{ name: string; queued: number; active: number; oldestSeconds: number }[]> };
  openConnections?: () => number;
  bulkheads?: () => { partner: string; inFlight: number; queued: number }[];
  admission?: () => { route: string; inFlight: number; waiting: number }[];
}

/**
 * Every metric dabba exports, defined once. One registry per app instance (tests build many apps in
 * one process); values come from hooks, wrappers and scrape-time reads, never from handlers.
 * Names follow Prometheus conventions: base units (seconds, bytes), `_total` for counters.
 * @see https://prometheus.io/docs/practices/naming/
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dabba_' });
  // prom-client's defaults include three gauges named `…_total`, which Prometheus reserves for counters
  // (`promtool check metrics` rejects them). Each is the sum of the per-type gauge that stays:
  // `sum without (type) (dabba_nodejs_active_handles)` gives the same number.
  // @see https://github.com/prometheus/client_js/issues/283
  for (const kind of ['handles', 'requests', 'resources']) registry.removeSingleMetric(`dabba_nodejs_active_${kind}_total`);
  const registers = [registry];
  const sources: MetricSources = {};

  // The loop's own health: delay percentiles since the last scrape, and utilisation since the last scrape.
  const loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let lastElu = performance.eventLoopUtilization();
  const loopGauge = (name: string, help: string, read: (h: IntervalHistogram) => number) =>
    new Gauge({ name, help, registers, collect() { this.set(read(loopDelay) / 1e9); } });
  loopGauge('dabba_event_loop_delay_p50_seconds', 'Event-loop delay, median since the last scrape', (h) => h.percentile(50));
  loopGauge('dabba_event_loop_delay_p99_seconds', 'Event-loop delay, 99th percentile since the last scrape', (h) => h.percentile(99));
  new Gauge({
    name: 'dabba_event_loop_delay_max_seconds',
    help: 'Event-loop delay, maximum since the last scrape',
    registers,
    collect() {
      this.set(loopDelay.max / 1e9);
      loopDelay.reset();
    },
  });
  new Gauge({
    name: 'dabba_event_loop_utilization_ratio',
    help: 'Share of time the event loop was busy since the last scrape (0–1)',
    registers,
    collect() {
      const now = performance.eventLoopUtilization();
      this.set(performance.eventLoopUtilization(now, lastElu).utilization);
      lastElu = now;
    },
  });

  new Gauge({
    name: 'dabba_db_pool_connections',
    help: 'PostgreSQL pool connections by state; `waiting` is queries queued for a connection',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const pool = sources.pool;
      if (!pool) return;
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  // prom-client collects every metric at once, so the three job gauges share one query per scrape
  // (each awaits it in its own collect; setting one gauge from another's collect lags a scrape behind).
  let depthRead: ReturnType<NonNullable<MetricSources['jobs']>['depth']> | undefined;
  const jobDepth = () =>
    (depthRead ??= (sources.jobs?.depth() ?? Promise.resolve([])).catch(() => []).finally(() => {
      depthRead = undefined;
    }));
  const jobGauge = (name: string, help: string, read: (q: { queued: number; active: number; oldestSeconds: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        for (const q of await jobDepth()) this.set({ queue: q.name }, read(q));
      },
    });
  jobGauge('dabba_jobs_queued', 'Jobs waiting per queue: follow-ups, their dead letters, menu syncs', (q) => q.queued);
  jobGauge('dabba_jobs_active', 'Jobs running per queue: follow-ups, menu syncs', (q) => q.active);
  jobGauge('dabba_jobs_oldest_age_seconds', 'Age of the oldest waiting job per queue (0 when none waits)', (q) => q.oldestSeconds);
  new Gauge({
    name: 'dabba_http_open_connections',
    help: 'Open client connections to the API (keep-alive and live streams included)',
    registers,
    collect() {
      if (sources.openConnections) this.set(sources.openConnections());
    },
  });

  return {
    registry,
    sources,
    ...createLiveMetrics(registry),
    httpSeconds: new Histogram({
      name: 'dabba_http_request_duration_seconds',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    httpInFlight: new Gauge({ name: 'dabba_http_requests_in_flight', help: 'Requests being handled now', registers }),
    httpAdmitted: new Gauge({
      name: 'dabba_http_admitted_in_flight',
      help: 'Admitted requests holding a slot per route (method and template); at the route limit new ones wait for a slot',
      labelNames: ['route'] as const,
      registers,
      collect() {
        for (const a of sources.admission?.() ?? []) this.set({ route: a.route }, a.inFlight);
      },
    }),
    httpAdmissionWaiting: new Gauge({
      name: 'dabba_http_admission_waiting',
      help: 'Requests past their route limit waiting for a slot, per route; they are refused when ADMISSION_MAX_WAIT_MS runs out',
      labelNames: ['route'] as const,
      registers,
      collect() {
        for (const a of sources.admission?.() ?? []) this.set({ route: a.route }, a.waiting);
      },
    }),
    httpShed: new Counter({
      name: 'dabba_http_shed_total',
      help: 'Requests refused with 503 because the process was overloaded, by the limit that tripped',
      labelNames: ['reason'] as const,
      registers,
    }),
    httpRateLimited: new Counter({
      name: 'dabba_http_rate_limited_total',
      help: 'Requests refused with 429 by a rate limit, by the limit (login-address, login-account, register-address)',
      labelNames: ['limit'] as const,
      registers,
    }),
    dbQuerySeconds: new Histogram({
      name: 'dabba_db_query_duration_seconds',
      help: 'SQL statements by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    followUpsDeadLettered: new Counter({
      name: 'dabba_follow_ups_dead_lettered_total',
      help: 'Follow-up jobs that exhausted their retries and wait in the dead letters for an operator (alert on any increase)',
      labelNames: ['queue'] as const,
      registers,
    }),
    menuSyncChanges: new Counter({
      name: 'dabba_menu_sync_changes_total',
      help: 'Menu item fields the catalog sync changed in dabba, by field (name, price_cents, is_available)',
      labelNames: ['field'] as const,
      registers,
    }),
    menuSyncRestaurants: new Counter({
      name: 'dabba_menu_sync_restaurants_total',
      help: 'Restaurants the menu sync tried, by outcome; a failed one keeps its last synced menu, marked stale',
      labelNames: ['outcome'] as const,
      registers,
    }),
    menuSyncSeconds: new Histogram({
      name: 'dabba_menu_sync_duration_seconds',
      help: 'One menu sync run over its restaurants, catalog calls and writes included',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    loopBlocks: new Counter({
      name: 'dabba_event_loop_blocks_total',
      help: 'Times the event loop was blocked longer than the blocked-loop threshold',
      registers,
    }),
    partnerCallSeconds: new Histogram({
      name: 'dabba_partner_call_duration_seconds',
      help: 'Outside calls, retries included, by partner, operation and outcome',
      labelNames: ['partner', 'operation', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4],
      registers,
    }),
    partnerAttempts: new Counter({
      name: 'dabba_partner_attempts_total',
      help: 'Single HTTP attempts to a partner (a call with retries makes several)',
      labelNames: ['partner', 'operation', 'result'] as const,
      registers,
    }),
    partnerBreakerState: new Gauge({
      name: 'dabba_partner_breaker_state',
      help: 'Circuit breaker per partner: 0 closed, 1 open, 2 half-open, 3 isolated',
      labelNames: ['partner'] as const,
      registers,
    }),
    partnerInFlight: new Gauge({
      name: 'dabba_partner_bulkhead_in_flight',
      help: 'Calls holding a bulkhead slot per partner',
      labelNames: ['partner'] as const,
      registers,
      collect() {
        for (const b of sources.bulkheads?.() ?? []) this.set({ partner: b.partner }, b.inFlight);
      },
    }),
    partnerQueued: new Gauge({
      name: 'dabba_partner_bulkhead_queue_length',
      help: 'Calls waiting for a bulkhead slot per partner',
      labelNames: ['partner'] as const,
      registers,
      collect() {
        for (const b of sources.bulkheads?.() ?? []) this.set({ partner: b.partner }, b.queued);
      },
    }),
    close() {
      loopDelay.disable();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
