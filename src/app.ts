import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController } from 'fastify';
import type { App } from './app.types.ts';
import type { Config } from './config.ts';
import { currentTraceIds, setupTracing } from './ops/tracing.ts';
import admissionControl from './plugins/admission-control.ts';
import authentication from './plugins/authentication.ts';
import loadShedding from './plugins/load-shedding.ts';
import observability from './plugins/observability.ts';
import openapi from './plugins/openapi.ts';
import problemDetails from './plugins/problem-details.ts';
import { schemaController } from './plugins/request-validation.ts';
import services, { type ServicesOptions } from './plugins/services.ts';
import authRoutes from './routes/auth/index.ts';
import feedRoutes from './routes/feed/index.ts';
import healthRoutes from './routes/health/index.ts';
import opsRoutes from './routes/ops/index.ts';
import orderRoutes from './routes/orders/index.ts';
import restaurantRoutes from './routes/restaurants/index.ts';
import { Problem } from './routes/shared.schema.ts';

export type { App } from './app.types.ts';

export interface BuildOptions extends Pick<ServicesOptions, 'onQuery' | 'background'> {
  /** A pino destination for tests that read the log; stdout otherwise. */
  logStream?: NodeJS.WritableStream;
}

/**
 * Builds the whole API without listening: the server and the tests share this. Plugins register in
 * a visible order: cross-cutting answers (errors, telemetry, shedding, admission), then the outside
 * resources and the use cases on them, then authentication and the routes. Each plugin owns the
 * start and stop of what it creates.
 */
export async function build(config: Config, opts: BuildOptions = {}): Promise<App> {
  setupTracing(config.tracing);
  const app = Fastify({
    // One line per request, written by the observability plugin when the request ends.
    logController: new LogController({ disableRequestLogging: true }),
    logger: {
      level: config.logLevel,
      stream: opts.logStream,
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
    return503OnClosing: true,
    schemaController: schemaController(),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The API speaks JSON only; without this Fastify parses text/plain and answers 400 instead of 415.
  app.removeContentTypeParser('text/plain');
  app.decorate('config', config);

  await app.register(problemDetails, { retryAfterSeconds: config.shedding.retryAfterSeconds });
  await app.register(observability, { blockedLoopThresholdMs: config.blockedLoopThresholdMs });
  await app.register(loadShedding, { limits: config.shedding });
  await app.register(admissionControl, { config });
  await app.register(services, { config, onQuery: opts.onQuery, background: opts.background });
  await app.register(authentication, { tokens: app.services.tokens });
  app.addSchema(Problem);
  await app.register(openapi);

  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(restaurantRoutes);
  await app.register(feedRoutes);
  await app.register(orderRoutes);
  await app.register(opsRoutes);
  return app;
}
