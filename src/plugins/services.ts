import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { CursorPool } from '../db/cursor-pool.ts';
import { createDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { OrderRepository } from '../db/repositories/order.repository.ts';
import { seedDemoCity } from '../db/seed/demo-city.ts';
import { Background } from '../jobs/background.ts';
import { JobQueue } from '../jobs/job-queue.ts';
import { createBus } from '../live/create-bus.ts';
import type { EventBus } from '../live/event-bus.ts';
import { recordQuerySpan } from '../ops/tracing.ts';
import { createPartners } from '../partners/index.ts';
import { createServices } from '../services/index.ts';
import { OrderTransitions } from '../services/order-transitions.ts';

export interface ServicesOptions {
  config: Config;
  onQuery?: (durationMs: number, sql: string, failed: boolean) => void;
  /** Job workers, the stuck-order sweeper and the relay's timer; on unless a test drives them by hand. */
  background?: boolean;
  /** The bus to use instead of one made from the config: a test listens in on, and speaks on, the app's own bus. */
  bus?: EventBus;
}

/**
 * The outside resources (PostgreSQL, partner pools), the use cases built on them, and the background
 * work they leave, owned in one place: the database is migrated (and, in development, seeded) before
 * anything else may query it; background work starts when the app is ready; closing stops background
 * work first, then the partner pools, then the database. Only `app.services` is visible to routes.
 */
async function services(app: FastifyInstance, opts: ServicesOptions) {
  const { config } = opts;
  if (!config.database.url) throw new Error('the app needs config.database.url; `dabba up` starts a database first');
  const { metrics, monitor } = app;
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
  try {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied');
    if (config.seedDemo && (await seedDemoCity(db))) app.log.info('demo city seeded');
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const partners = createPartners(config, metrics);
  const transitions = new OrderTransitions(new OrderRepository(db));
  const bus = await (opts.bus ? Promise.resolve(opts.bus) : createBus(config)).catch(async (err: unknown) => {
    await partners.close();
    await db.destroy();
    throw err;
  });
  // Every committed move is news for whoever watches the order, its restaurant or the city, on any node.
  transitions.onNews((order) =>
    bus.publish('order.moved', {
      order_id: order.id,
      restaurant_id: order.restaurant_id,
      customer_id: order.customer_id,
      courier_id: order.courier_id,
      status: order.status,
      version: order.version,
    }),
  );
  const jobs = new JobQueue({
    url: config.database.url,
    pollIntervalMs: config.jobs.pollIntervalMs,
    onError: (err) => app.log.error({ err }, 'job queue error'),
    onExhausted: (queue, job, reason) => {
      metrics.followUpsDeadLettered.inc({ queue });
      app.log.error({ queue, ...job, err: reason, alert: true }, `follow-up ${queue} for order ${job.orderId} exhausted its retries; it waits in the dead letters`);
    },
  });
  const exportPool = new CursorPool({
    url: config.database.url,
    max: config.exports.maxConcurrent,
    waitMs: config.database.poolWaitMs,
    // PostgreSQL's own limit, a backstop a little after the export service's: it cuts the read even if this process stalls.
    maxDurationMs: config.exports.maxDurationMs + 10_000,
    applicationName: 'dabba-export',
  });
  const services = createServices({ db, exportPool, config, partners, transitions, jobs, bus, metrics, log: app.log });
  const background = new Background(
    {
      config,
      db,
      jobs,
      transitions,
      followUps: services.followUps,
      menuSync: services.menuSync,
      monitor,
      log: app.log,
      bus,
      metrics,
      couriers: services.courierDirectory,
    },
    { workers: opts.background !== false },
  );
  Object.assign(metrics.sources, { pool, jobs: background, bulkheads: partners.bulkheads });
  // Other kinds of live connection (courier sockets) add to these sources when they start.
  const { connections, bufferHighWater } = metrics.liveSources;
  metrics.liveSources.connections = () => ({ ...connections?.(), ...services.streams.counts() });
  metrics.liveSources.bufferHighWater = () => ({ ...bufferHighWater?.(), ...services.streams.takeHighWater() });
  app.decorate('services', services);

  app.addHook('onReady', async () => {
    // The directory first: the courier sockets and dispatch read it from their first message on.
    await services.courierDirectory.start();
    await services.catalogChanges.start();
    services.couriers.start({ timers: opts.background !== false });
    services.courierStream.start();
    await background.start();
  });
  // A stream never ends by itself: before close waits for connections, each is told to reconnect to another node.
  app.addHook('preClose', async () => services.streams.closeAll());
  app.addHook('onClose', async () => {
    services.tracking.close();
    await services.catalogChanges.close();
    // Couriers' sockets were told to reconnect in preClose (plugins/websocket.ts); their last positions are written here.
    await services.courierStream.close();
    await services.couriers.close();
    services.courierDirectory.close();
    await background.close();
    await bus.close();
    await partners.close();
    await exportPool.close();
    await db.destroy();
  });
}

export default fp(services, { name: 'services', dependencies: ['observability'] });
