import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One registry per app instance (tests build many apps in one process). Every metric is defined
 * here, once, and fed by hooks and wrappers, never by hand in a handler.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'dabba_' });
  const registers = [registry];
  return {
    registry,
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
    }),
    partnerQueued: new Gauge({
      name: 'dabba_partner_bulkhead_queue_length',
      help: 'Calls waiting for a bulkhead slot per partner',
      labelNames: ['partner'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
