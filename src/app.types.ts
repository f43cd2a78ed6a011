import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from './config.ts';
import type { LoopMonitor } from './ops/loop-monitor.ts';
import type { Metrics } from './ops/metrics.ts';
import type { Services } from './services/index.ts';

/** The Fastify instance dabba's plugins and routes see, with its TypeBox type provider. */
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The use cases: the only way a route reaches the database or a partner. */
    services: Services;
    metrics: Metrics;
    monitor: LoopMonitor;
    /** The parsed configuration, so route options can read their limits from it. */
    config: Config;
  }
}
