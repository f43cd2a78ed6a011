import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { overloaded } from './overloaded.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The limit the process is past now, as a shed request's reason (`dabba_http_shed_total{reason}`) and detail; undefined when none is. */
    pressure(): { reason: string; detail: string } | undefined;
  }
  interface FastifyContextConfig {
    /** Set by admission control on the routes it gates: past the loop-delay limit they wait, not refused at once. */
    admitted?: boolean;
  }
}

/** Routes that must answer however loaded the process is: probes and the scrape. */
export const UNSHED = { pressureHandler: () => undefined };

export interface SheddingLimits {
  maxEventLoopDelayMs: number;
  maxHeapUsedBytes: number;
  retryAfterSeconds: number;
}

/** under-pressure's names for its limits, as a client can read them. */
function describe(type: string, value: number | undefined): string {
  const v = typeof value === 'number' ? Math.round(value * 100) / 100 : undefined;
  switch (type) {
    case 'eventLoopDelay':
      return `event-loop delay ${v} ms`;
    case 'heapUsedBytes':
      return `heap ${v === undefined ? '' : Math.round(v / 2 ** 20)} MiB`;
    default:
      return type;
  }
}

/**
 * Past a limit of event-loop delay or heap, new requests are refused with 503, `Retry-After` and a
 * problem body, so the work already accepted keeps its latency. Checked on arrival only: a request
 * let in is never dropped later. Probes and /metrics are exempt (UNSHED). Past the loop-delay limit,
 * a route under admission control admits no one instead, and its new requests wait like the excess
 * of a full route (admission-control.ts): a refusal at once invites a retry at once, and under
 * thousands of clients that ignore `Retry-After` the refusals themselves would keep the loop late.
 * Utilisation and the database pool's queue are not limits: a loop 99% busy can still answer
 * promptly, and both, as all-or-nothing gates, cut goodput in the benchmark (bench/README.md).
 * @see https://github.com/fastify/under-pressure
 */
async function loadShedding(app: FastifyInstance, opts: { limits: SheddingLimits }) {
  const { limits } = opts;
  const { metrics } = app;
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxHeapUsedBytes: limits.maxHeapUsedBytes,
    sampleInterval: 250,
    // Returning a body makes under-pressure send it and stop the request (its typings say void); returning
    // nothing lets the request go on.
    pressureHandler: ((req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
      if (type === 'eventLoopDelay' && req.routeOptions.config.admitted) return undefined;
      metrics.httpShed.inc({ reason: type });
      return overloaded(req, reply, describe(type, value), limits.retryAfterSeconds);
    }) as unknown as () => void,
  });
  app.decorate('pressure', () => {
    if (!app.isUnderPressure()) return undefined;
    const { eventLoopDelay, heapUsed } = app.memoryUsage();
    const reason = limits.maxEventLoopDelayMs > 0 && eventLoopDelay > limits.maxEventLoopDelayMs ? 'eventLoopDelay' : 'heapUsedBytes';
    return { reason, detail: describe(reason, reason === 'eventLoopDelay' ? eventLoopDelay : heapUsed) };
  });
}

export default fp(loadShedding, { name: 'load-shedding', dependencies: ['metrics'] });
