import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { FollowUpOutboxRepository } from '../db/repositories/follow-up-outbox.repository.ts';
import { OrderRepository } from '../db/repositories/order.repository.ts';
import { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import { UserRepository } from '../db/repositories/user.repository.ts';
import { FollowUpRelay } from '../jobs/follow-up-relay.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { Partners } from '../partners/index.ts';
import { AuthService } from './auth.service.ts';
import { CheckoutService } from './checkout.service.ts';
import { FeedService } from './feed.service.ts';
import { FollowUpsService } from './follow-ups.service.ts';
import { HealthService } from './health.service.ts';
import { OrderService } from './order.service.ts';
import { OrderSweeper } from './order-sweeper.ts';
import { OrderTransitions } from './order-transitions.ts';
import { RestaurantService } from './restaurant.service.ts';
import { TokenService } from './token.service.ts';

/** How long a relay run waits for more moves to join it: invisible to a notification, and under load it batches many orders. */
const RELAY_DELAY_MS = 50;

interface Deps {
  db: Db;
  config: Config;
  partners: Partners;
  jobs: JobQueue;
  log: FastifyBaseLogger;
}

/** Wires repositories, partners and jobs into services once per process; routes only see services. */
export function createServices({ db, config, partners, jobs, log }: Deps) {
  const users = new UserRepository(db);
  const restaurants = new RestaurantRepository(db);
  const orders = new OrderRepository(db);
  const tokens = new TokenService(config.jwt.secret, config.jwt.ttlSeconds);
  const relay = new FollowUpRelay({
    db,
    outbox: new FollowUpOutboxRepository(db),
    jobs,
    delayMs: RELAY_DELAY_MS,
    sweepMs: config.jobs.pollIntervalMs,
    onError: (err) => log.error({ err }, 'relaying follow-ups failed'),
  });
  const transitions = new OrderTransitions(orders, relay);
  const checkout = new CheckoutService({ orders, transitions, partners, deadlineMs: config.orders.flowDeadlineMs });
  return {
    relay,
    tokens,
    auth: new AuthService(users, tokens),
    restaurants: new RestaurantService(restaurants),
    orders: new OrderService({ orders, users, transitions, checkout }),
    feed: new FeedService({ restaurants, partners, deadlineMs: config.feed.deadlineMs, count: config.feed.restaurants }),
    followUps: new FollowUpsService({ orders, partners, log }),
    sweeper: new OrderSweeper({
      orders,
      transitions,
      log,
      intervalMs: config.orders.sweepIntervalMs,
      checkoutTimeoutMs: config.orders.placedStuckAfterMs,
      tabletTimeoutMs: config.orders.tabletAcceptTimeoutMs,
    }),
    health: new HealthService(db),
  };
}

export type Services = ReturnType<typeof createServices>;
