import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { MenuRepository } from '../db/repositories/menu.repository.ts';
import { OrderRepository } from '../db/repositories/order.repository.ts';
import { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import { UserRepository } from '../db/repositories/user.repository.ts';
import type { EventBus } from '../live/event-bus.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Partners } from '../partners/index.ts';
import { AuthService } from './auth.service.ts';
import { CheckoutService } from './checkout.service.ts';
import { type DeadLetterStore, DeadLettersService } from './dead-letters.service.ts';
import { FeedService } from './feed.service.ts';
import { FollowUpsService } from './follow-ups.service.ts';
import { HealthService } from './health.service.ts';
import { LiveMenus } from './live-menus.ts';
import { type MenuSyncQueue, MenuSyncService } from './menu-sync.service.ts';
import { OrderService } from './order.service.ts';
import type { OrderTransitions } from './order-transitions.ts';
import { RestaurantService } from './restaurant.service.ts';
import { TokenService } from './token.service.ts';

interface Deps {
  db: Db;
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
export function createServices({ db, config, partners, transitions, jobs, bus, metrics, log }: Deps) {
  const users = new UserRepository(db);
  const restaurants = new RestaurantRepository(db);
  const orders = new OrderRepository(db);
  const menus = new MenuRepository(db);
  // One cache of live menus for the feed, checkout and the sync: what one fetched, the others may use.
  const liveMenus = new LiveMenus(partners.catalog);
  const menuSync = new MenuSyncService({ menus, liveMenus, queue: jobs, ...config.menuSync, metrics, log });
  const tokens = new TokenService(config.jwt.secret, config.jwt.ttlSeconds);
  const checkout = new CheckoutService({ orders, transitions, partners, deadlineMs: config.orders.flowDeadlineMs });
  return {
    tokens,
    auth: new AuthService(users, tokens, config.auth),
    restaurants: new RestaurantService(restaurants, config.menuSync.staleAfterMs),
    orders: new OrderService({ orders, users, transitions, checkout, liveMenus }),
    feed: new FeedService({
      restaurants,
      menus,
      liveMenus,
      partners,
      onCatalogMovedOn: (restaurantId) => menuSync.request(restaurantId),
      deadlineMs: config.feed.deadlineMs,
      count: config.feed.restaurants,
    }),
    menuSync,
    followUps: new FollowUpsService({ orders, partners, log }),
    health: new HealthService(db),
    deadLetters: new DeadLettersService(jobs),
  };
}

export type Services = ReturnType<typeof createServices>;
