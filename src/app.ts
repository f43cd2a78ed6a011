import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from './config.ts';
import { createDatabase, type Db } from './db/database.ts';
import { FOLLOW_UPS, JobQueue } from './jobs/job-queue.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { createPartners, type Partners } from './partners/index.ts';
import authentication from './plugins/authentication.ts';
import openapi from './plugins/openapi.ts';
import problemDetails from './plugins/problem-details.ts';
import authRoutes from './routes/auth/index.ts';
import feedRoutes from './routes/feed/index.ts';
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
    metrics: Metrics;
    partners: Partners;
    jobs: JobQueue;
  }
}

export interface BuildOptions {
  /** A pino destination for tests that read the log; stdout otherwise. */
  logStream?: NodeJS.WritableStream;
  onQuery?: (durationMs: number, sql: string, failed: boolean) => void;
  /** Job workers and the stuck-order sweeper; on unless a test wants to drive them by hand. */
  background?: boolean;
}

/** How many jobs of each kind one process runs at once; partner bulkheads bound the rest. */
const JOB_CONCURRENCY = 16;

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

  // The API speaks JSON only; without this Fastify parses text/plain and answers 400 instead of 415.
  app.removeContentTypeParser('text/plain');

  if (!config.database.url) throw new Error('build() needs config.database.url; `dabba up` starts a database first');
  const { db } = createDatabase({ url: config.database.url, max: config.database.poolMax, onQuery: opts.onQuery });
  const metrics = createMetrics();
  const partners = createPartners(config, metrics);
  const jobs = new JobQueue({
    url: config.database.url,
    pollIntervalMs: config.jobs.pollIntervalMs,
    onError: (err) => app.log.error({ err }, 'job queue error'),
  });
  const services = createServices({ db, config, partners, jobs, log: app.log });
  app.decorate('db', db);
  app.decorate('metrics', metrics);
  app.decorate('partners', partners);
  app.decorate('jobs', jobs);
  app.decorate('services', services);
  // Closing runs in this order: stop sweeping, let running jobs finish, then partner pools, then the database.
  app.addHook('onClose', async () => {
    await services.sweeper.close();
    await jobs.stop();
    await partners.close();
    await db.destroy();
  });
  await jobs.start();
  if (opts.background !== false) {
    const handlers = services.followUps;
    for (const name of FOLLOW_UPS) await jobs.work(name, JOB_CONCURRENCY, (job) => handlers[name](job));
    services.sweeper.start();
  }

  await app.register(problemDetails);
  await app.register(authentication, { tokens: app.services.tokens });
  app.addSchema(Problem);
  await app.register(openapi);

  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(restaurantRoutes);
  await app.register(feedRoutes);
  await app.register(orderRoutes);
  return app;
}
