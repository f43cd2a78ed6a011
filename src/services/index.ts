import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import { ChangeListener } from '../db/change-listener.ts';
import type { CursorPool } from '../db/cursor-pool.ts';
import type { Db } from '../db/database.ts';
import { CourierRepository } from '../db/repositories/courier.repository.ts';
import { MenuRepository } from '../db/repositories/menu.repository.ts';
import { OrderRepository } from '../db/repositories/order.repository.ts';
import { OrderEventsRepository } from '../db/repositories/order-events.repository.ts';
import { OrderExportRepository } from '../db/repositories/order-export.repository.ts';
import { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import { UserRepository } from '../db/repositories/user.repository.ts';
import { CourierSockets } from '../live/courier-sockets.ts';
import type { EventBus } from '../live/event-bus.ts';
import { LiveHub } from '../live/live-hub.ts';
import { LiveStreams } from '../live/live-streams.ts';
import { HealthFigures } from '../ops/health-figures.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Partners } from '../partners/index.ts';
import { AuthService } from './auth.service.ts';
import { CheckoutService } from './checkout.service.ts';
import { CourierService } from './courier.service.ts';
import { CourierDirectory } from './courier-directory.ts';
import { CourierPositions } from './courier-positions.ts';
import { type DeadLetterStore, DeadLettersService } from './dead-letters.service.ts';
import { FeedService } from './feed.service.ts';
import { CATALOG_CHANNELS, FeedDirectory } from './feed-directory.ts';
import { FollowUpsService } from './follow-ups.service.ts';
import { HealthService } from './health.service.ts';
import { LiveMenus } from './live-menus.ts';
import { type MenuSyncQueue, MenuSyncService } from './menu-sync.service.ts';
import { OrderService } from './order.service.ts';
import { OrderExportService } from './order-export.service.ts';
import type { OrderTransitions } from './order-transitions.ts';
import { RestaurantService } from './restaurant.service.ts';
import { TokenService } from './token.service.ts';
import { TrackingService } from './tracking.service.ts';

interface Deps {
  db: Db;
  /** The exports' own small pool, so a long export never holds a connection order traffic needs. */
  exportPool: CursorPool;
  config: Config;
  partners: Partners;
  /** The one writer of order moves, shared with the background work that also moves orders. */
  transitions: OrderTransitions;
  /** The job queue, for the operator's view of follow-ups that gave up, and for asking for menu syncs. */
  jobs: DeadLetterStore & MenuSyncQueue;
  /** News between nodes: order moves, courier positions and shifts, dispatch offers and answers. */
  bus: EventBus;
  metrics?: Metrics;
  log: FastifyBaseLogger;
}

/** The use cases, wired to repositories and partners once per process; routes see only these. */
export function createServices({ db, exportPool, config, partners, transitions, jobs, bus, metrics, log }: Deps) {
  const users = new UserRepository(db);
  const restaurants = new RestaurantRepository(db);
  const orders = new OrderRepository(db);
  const menus = new MenuRepository(db);
  // One cache of live menus for the feed, checkout and the sync: what one fetched, the others may use.
  const liveMenus = new LiveMenus(partners.catalog);
  // The feed's restaurants and synced menus in memory, kept current by the database's notifications.
  const catalogChanges: ChangeListener = new ChangeListener({
    url: config.database.url!,
    channels: CATALOG_CHANNELS,
    onNotify: (channel, payload) => feedDirectory.notified(channel, payload),
    onReset: () => feedDirectory.reset(),
    log,
  });
  const feedDirectory = new FeedDirectory({ restaurants, menus, listening: () => catalogChanges.listening });
  const menuSync = new MenuSyncService({ menus, liveMenus, queue: jobs, ...config.menuSync, metrics, log, changes: feedDirectory });
  const tokens = new TokenService(config.jwt.secret, config.jwt.ttlSeconds, config.live.ticketTtlSeconds);
  const checkout = new CheckoutService({ orders, transitions, partners, deadlineMs: config.orders.flowDeadlineMs });
  const orderService = new OrderService({ orders, users, transitions, checkout, liveMenus });
  const courierRows = new CourierRepository(db);
  // Every node's view of the couriers on shift, for the offers dispatch makes and the city's live view.
  const courierDirectory = new CourierDirectory({ bus, couriers: courierRows, staleAfterMs: config.couriers.staleAfterMs, metrics });
  const positions = new CourierPositions({ couriers: courierRows, directory: courierDirectory, bus, limits: config.couriers, metrics, log });
  const couriers = new CourierService({ couriers: courierRows, positions, bus, transitions, offShiftAfterMs: config.couriers.offShiftAfterMs, log });
  const auth = new AuthService(users, tokens, config.auth);
  // A logout here ends the account's live connections on every node (see CourierSockets).
  auth.onSignedOut((userId) => bus.publish('account.signed_out', { user_id: userId }));
  return {
    tokens,
    auth,
    restaurants: new RestaurantService(restaurants, config.menuSync.staleAfterMs, feedDirectory),
    orders: orderService,
    orderExports: new OrderExportService({
      restaurants,
      exports: new OrderExportRepository(db, exportPool),
      maxDurationMs: config.exports.maxDurationMs,
      log,
    }),
    couriers,
    courierDirectory,
    courierStream: new CourierSockets({
      bus,
      auth,
      couriers,
      orders: orderService,
      heartbeatMs: config.live.heartbeatMs,
      maxBufferBytes: config.live.maxBufferBytes,
      metrics,
      log,
    }),
    catalogChanges,
    feed: new FeedService({
      directory: feedDirectory,
      liveMenus,
      partners,
      onCatalogMovedOn: (restaurantId) => menuSync.request(restaurantId),
      deadlineMs: config.feed.deadlineMs,
      count: config.feed.restaurants,
    }),
    // The SSE streams in one registry: counted, and told to reconnect elsewhere on shutdown.
    streams: new LiveStreams({ settings: { ...config.live, retryMs: config.live.reconnectMs }, metrics, log }),
    tracking: new TrackingService({
      events: new OrderEventsRepository(db),
      hub: new LiveHub(bus),
      health: new HealthFigures(metrics),
      couriers: courierDirectory,
      speedKmh: config.dispatch.speedKmh,
      positionIntervalMs: config.live.positionIntervalMs,
      log,
    }),
    menuSync,
    followUps: new FollowUpsService({ orders, partners, log }),
    health: new HealthService(db),
    deadLetters: new DeadLettersService(jobs),
  };
}

export type Services = ReturnType<typeof createServices>;
