import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController } from 'fastify';
import type { App } from './app.types.ts';
import type { Config } from './config.ts';
import { currentTraceIds, setupTracing } from './ops/tracing.ts';
import admissionControl from './plugins/admission-control.ts';
import authentication from './plugins/authentication.ts';
import loadShedding from './plugins/load-shedding.ts';
import metrics from './plugins/metrics.ts';
import observability from './plugins/observability.ts';
import openapi from './plugins/openapi.ts';
import problemDetails, { frameworkError } from './plugins/problem-details.ts';
import rateLimits from './plugins/rate-limits.ts';
import securityHeaders from './plugins/security-headers.ts';
import { schemaController } from './plugins/request-validation.ts';
import services, { type ServicesOptions } from './plugins/services.ts';
import webPages from './plugins/web-pages.ts';
import websocket from './plugins/websocket.ts';
import authRoutes from './routes/auth/index.ts';
import courierRoutes from './routes/courier/index.ts';
import exportRoutes from './routes/exports/index.ts';
import feedRoutes from './routes/feed/index.ts';
import healthRoutes from './routes/health/index.ts';
import opsRoutes from './routes/ops/index.ts';
import orderRoutes from './routes/orders/index.ts';
import restaurantRoutes from './routes/restaurants/index.ts';
import streamRoutes from './routes/streams/index.ts';
import { Problem } from './routes/shared.schema.ts';

export type { App } from './app.types.ts';

/** One line per record, local time, without the fields a person at their own machine never needs. */
const PRETTY = { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true };

/** LOG_FORMAT decides; unset, pretty only when stdout is a terminal. A test's own log stream is always JSON. */
const prettyLogs = (config: Config, opts: BuildOptions) =>
  opts.logStream === undefined && (config.logFormat ?? (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty';

export interface BuildOptions extends Pick<ServicesOptions, 'onQuery' | 'background' | 'bus'> {
  /** A pino destination for tests that read the log; stdout otherwise. */
  logStream?: NodeJS.WritableStream;
}

/**
 * Builds the whole API without listening: the server and the tests share this. Plugins register in
 * a visible order: cross-cutting answers (errors, headers, metrics, the refusals: shedding, rate limits,
 * admission; then telemetry of what is admitted), then the outside
 * resources and the use cases on them, then authentication and the routes. Each plugin owns the
 * start and stop of what it creates.
 */
export async function build(config: Config, opts: BuildOptions = {}): Promise<App> {
  await setupTracing(config.tracing);
  const app = Fastify({
    // One line per request, written by the observability plugin when the request ends.
    logController: new LogController({ disableRequestLogging: true }),
    logger: {
      level: config.logLevel,
      stream: opts.logStream,
      // For people at a terminal, pino-pretty in a worker thread (off the event loop); JSON lines for machines.
      ...(prettyLogs(config, opts) ? { transport: { target: 'pino-pretty', options: PRETTY } } : {}),
      mixin: currentTraceIds,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token', 'password', 'token'],
        censor: '[redacted]',
      },
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    // How often Node enforces the request timeouts server.ts sets; by default only every 30 s, which would
    // let a 10 s limit run to 40 s. Settable only when the server is created.
    http: { connectionsCheckingInterval: 500 },
    return503OnClosing: true,
    frameworkErrors: frameworkError,
    schemaController: schemaController(),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API speaks JSON only; without this Fastify parses text/plain and answers 400 instead of 415.
  app.removeContentTypeParser('text/plain');
  app.decorate('config', config);

  await app.register(problemDetails, { retryAfterSeconds: config.shedding.retryAfterSeconds });
  await app.register(securityHeaders);
  await app.register(metrics);
  // The refusals come before any span, histogram or log line, so refusing stays cheaper than serving.
  await app.register(loadShedding, { limits: config.shedding });
  // Before admission control: a login or registration over its rate limit never takes or waits for a slot.
  await app.register(rateLimits, { limits: config.rateLimits });
  await app.register(admissionControl, { config });
  await app.register(observability, { blockedLoopThresholdMs: config.blockedLoopThresholdMs });
  await app.register(services, { config, onQuery: opts.onQuery, background: opts.background, bus: opts.bus });
  await app.register(authentication, { auth: app.services.auth });
  app.addSchema(Problem);
  await app.register(openapi);
  await app.register(websocket);

  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(restaurantRoutes);
  await app.register(feedRoutes);
  await app.register(orderRoutes);
  await app.register(opsRoutes);
  await app.register(streamRoutes);
  await app.register(exportRoutes);
  await app.register(courierRoutes);
  await app.register(webPages, { distDir: config.web.distDir, demoAccounts: config.seedDemo });
  return app;
}
