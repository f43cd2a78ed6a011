import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from './config.ts';
import { createDatabase, type Db } from './db/database.ts';
import { FOLLOW_UPS, JobQueue } from './jobs/job-queue.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { createPartners, type Partners } from './partners/index.ts';
import { LoopMonitor } from './ops/loop-monitor.ts';
import { currentTraceIds, recordQuerySpan, setupTracing } from './ops/tracing.ts';
import admissionControl from './plugins/admission-control.ts';
import authentication from './plugins/authentication.ts';
import loadShedding from './plugins/load-shedding.ts';
import observability from './plugins/observability.ts';
import openapi from './plugins/openapi.ts';
import problemDetails from './plugins/problem-details.ts';
import { schemaController } from './plugins/request-validation.ts';
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
    monitor: LoopMonitor;
    partners: Partners;
    jobs: JobQueue;
    /** The parsed configuration, so route options can read their limits from it. */
    config: Config;
  }
}

export interface BuildOptions {
  /** A pino destination for tests that read the log; stdout otherwise. */
  logStream?: NodeJS.WritableStream;
  onQuery?: (durationMs: number, sql: string, failed: boolean) => void;
  /** Job workers and the stuck-order sweeper; on unless a test wants to drive them by hand. */
  background?: boolean;
}

/** Workers per kind of job in one process, each running a batch of jobs at once; partner bulkheads bound the rest. */
const JOB_WORKERS = 4;

/** Builds the whole API without listening: the server and the tests share this. */
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

  if (!config.database.url) throw new Error('build() needs config.database.url; `dabba up` starts a database first');
  const metrics = createMetrics();
  const { db, pool } = createDatabase({
    url: config.database.url,
    max: config.database.poolMax,
    waitMs: config.database.poolWaitMs,
    statementCache: config.database.statementCache,
    onQuery: (durationMs, sql, failed) => {
      metrics.dbQuerySeconds.observe({ outcome: failed ? 'error' : 'ok' }, durationMs / 1000);
      recordQuerySpan(sql, durationMs, failed);
      opts.onQuery?.(durationMs, sql, failed);
    },
  });
  const monitor = new LoopMonitor({
    thresholdMs: config.blockedLoopThresholdMs,
    report: (block) => {
      metrics.loopBlocks.inc();
      app.log.warn(block, `event loop blocked for ${block.blocked_ms} ms`);
    },
  });
  const partners = createPartners(config, metrics);
  const jobs = new JobQueue({
    url: config.database.url,
    pollIntervalMs: config.jobs.pollIntervalMs,
    onError: (err) => app.log.error({ err }, 'job queue error'),
  });
  const services = createServices({ db, config, partners, jobs, log: app.log });
  app.decorate('config', config);
  app.decorate('db', db);
  app.decorate('metrics', metrics);
  app.decorate('monitor', monitor);
  let openConnections = 0;
  app.server.on('connection', (socket) => {
    openConnections++;
    socket.once('close', () => openConnections--);
  });
  Object.assign(metrics.sources, { pool, jobs, openConnections: () => openConnections, bulkheads: partners.bulkheads });
  app.decorate('partners', partners);
  app.decorate('jobs', jobs);
  app.decorate('services', services);
  // Closing runs in this order: stop sweeping, relay what is owed, let running jobs finish, then partner pools, then the database.
  app.addHook('onClose', async () => {
    monitor.close();
    metrics.close();
    await services.sweeper.close();
    await services.relay.close();
    await jobs.stop();
    await partners.close();
    await db.destroy();
  });
  await jobs.start();
  if (opts.background !== false) {
    for (const name of FOLLOW_UPS) {
      await jobs.work(name, JOB_WORKERS, (batch) => {
        monitor.enter(`job ${name}`);
        return services.followUps.run(name, batch);
      });
    }
    services.sweeper.start();
    services.relay.start();
  }
  // Started once serving: start-up itself (module loading, schema compilation) blocks the loop by design.
  app.addHook('onListen', async () => monitor.start());

  await app.register(problemDetails, { retryAfterSeconds: config.shedding.retryAfterSeconds });
  await app.register(observability, { metrics, monitor });
  await app.register(loadShedding, { limits: config.shedding, metrics, dbWaiting: () => pool.waitingCount });
  await app.register(admissionControl, { config, metrics });
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
