import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Metrics } from '../ops/metrics.ts';

export interface SheddingLimits {
  maxEventLoopDelayMs: number;
  maxEventLoopUtilization: number;
  maxHeapUsedBytes: number;
  retryAfterSeconds: number;
}

/**
 * Past a limit of event-loop delay, utilisation or heap, new requests are refused at once with 503,
 * `Retry-After` and a problem body, so the work already accepted keeps its latency. Checked on
 * arrival only: a request let in is never dropped later. Probes and /metrics are exempt (UNSHED).
 * @see https://github.com/fastify/under-pressure
 */
async function loadShedding(app: FastifyInstance, opts: { limits: SheddingLimits; metrics: Metrics }) {
  const { limits, metrics } = opts;
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxEventLoopUtilization: limits.maxEventLoopUtilization,
    maxHeapUsedBytes: limits.maxHeapUsedBytes,
    sampleInterval: 250,
    eventLoopUtilizationMode: 'interval',
    // Returning a body makes under-pressure send it and stop the request (its typings say void).
    pressureHandler: ((req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
      metrics.httpShed.inc({ reason: type });
      void reply
        .code(503)
        .header('retry-after', String(limits.retryAfterSeconds))
        .type('application/problem+json')
        .serializer(JSON.stringify);
      return {
        type: 'https://dabba.dev/problems/overloaded',
        title: 'Service unavailable',
        status: 503,
        detail: `The server is overloaded (${type}: ${typeof value === 'number' ? Math.round(value * 100) / 100 : value}); retry after ${limits.retryAfterSeconds} s.`,
        instance: req.url,
      };
    }) as unknown as () => void,
  });
}

export default fp(loadShedding, { name: 'load-shedding' });
