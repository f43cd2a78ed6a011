import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from './config.ts';
import { createDatabase, type Db } from './db/database.ts';
import authentication from './plugins/authentication.ts';
import openapi from './plugins/openapi.ts';
import problemDetails from './plugins/problem-details.ts';
import authRoutes from './routes/auth/index.ts';
import healthRoutes from './routes/health/index.ts';
import orderRoutes from './routes/orders/index.ts';
import restaurantRoutes from './routes/restaurants/index.ts';
import { Problem } from './routes/shared.schema.ts';
import { createServices, type Services } from './services/index.ts';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    db: Db;
  }
}

export interface BuildOptions {
  /** A pino destination for tests that read the log; stdout otherwise. */
  logStream?: NodeJS.WritableStream;
  onQuery?: (durationMs: number, sql: string, failed: boolean) => void;
}

/** Builds the whole API without listening: the server and the tests share this. */
export async function build(config: Config, opts: BuildOptions = {}): Promise<App> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      stream: opts.logStream,
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
    ajv: {
      // Unknown fields are dropped, and every problem in a request is reported at once (arrays are bounded by maxItems).
      customOptions: { removeAdditional: true, allErrors: true, coerceTypes: 'array', useDefaults: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  if (!config.database.url) throw new Error('build() needs config.database.url; `dabba up` starts a database first');
  const { db } = createDatabase({ url: config.database.url, max: config.database.poolMax, onQuery: opts.onQuery });
  app.decorate('db', db);
  app.decorate('services', createServices(db, config));
  app.addHook('onClose', async () => db.destroy());

  await app.register(problemDetails);
  await app.register(authentication, { tokens: app.services.tokens });
  app.addSchema(Problem);
  await app.register(openapi);

  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(restaurantRoutes);
  await app.register(orderRoutes);
  return app;
}
