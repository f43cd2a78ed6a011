import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Metrics } from '../ops/metrics.ts';
import { overloaded } from './overloaded.ts';

export interface SheddingLimits {
  maxEventLoopDelayMs: number;
  maxEventLoopUtilization: number;
  maxHeapUsedBytes: number;
  /** Queries waiting for a pool connection; past it the database, not the loop, is the queue. 0 = off. */
  maxDbWaiting: number;
  retryAfterSeconds: number;
}

/** under-pressure's names for its limits, as a client can read them. */
function describe(type: string, value: number | undefined): string {
  const v = typeof value === 'number' ? Math.round(value * 100) / 100 : undefined;
  switch (type) {
    case 'eventLoopDelay':
      return `event-loop delay ${v} ms`;
    case 'eventLoopUtilization':
      return `event-loop utilisation ${v}`;
    case 'heapUsedBytes':
      return `heap ${v === undefined ? '' : Math.round(v / 2 ** 20)} MiB`;
    case 'healthCheck':
      return 'too many queries waiting for a database connection';
    default:
      return type;
  }
}

/**
 * Past a limit of event-loop delay, utilisation, heap or database-pool queue, new requests are refused at once with 503,
 * `Retry-After` and a problem body, so the work already accepted keeps its latency. Checked on
 * arrival only: a request let in is never dropped later. Probes and /metrics are exempt (UNSHED).
 * @see https://github.com/fastify/under-pressure
 */
async function loadShedding(
  app: FastifyInstance,
  opts: { limits: SheddingLimits; metrics: Metrics; dbWaiting: () => number },
) {
  const { limits, metrics } = opts;
  await app.register(underPressure, {
    // Reported by under-pressure as `serviceHealthCheck` when it trips.
    ...(limits.maxDbWaiting > 0
      ? { healthCheck: async () => opts.dbWaiting() <= limits.maxDbWaiting, healthCheckInterval: 100 }
      : {}),
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxEventLoopUtilization: limits.maxEventLoopUtilization,
    maxHeapUsedBytes: limits.maxHeapUsedBytes,
    sampleInterval: 250,
    eventLoopUtilizationMode: 'interval',
    // Returning a body makes under-pressure send it and stop the request (its typings say void).
    pressureHandler: ((req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
      metrics.httpShed.inc({ reason: type });
      return overloaded(req, reply, describe(type, value), limits.retryAfterSeconds);
    }) as unknown as () => void,
  });
}

export default fp(loadShedding, { name: 'load-shedding' });
