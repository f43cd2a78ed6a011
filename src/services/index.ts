import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { OrderRepository } from '../db/repositories/order.repository.ts';
import { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import { UserRepository } from '../db/repositories/user.repository.ts';
import type { Partners } from '../partners/index.ts';
import { AuthService } from './auth.service.ts';
import { CheckoutService } from './checkout.service.ts';
import { type DeadLetterStore, DeadLettersService } from './dead-letters.service.ts';
import { FeedService } from './feed.service.ts';
import { FollowUpsService } from './follow-ups.service.ts';
import { HealthService } from './health.service.ts';
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
  /** The job queue, for the operator's view of follow-ups that gave up. */
  jobs: DeadLetterStore;
  log: FastifyBaseLogger;
}

/** The use cases, wired to repositories and partners once per process; routes see only these. */
export function createServices({ db, config, partners, transitions, jobs, log }: Deps) {
  const users = new UserRepository(db);
  const restaurants = new RestaurantRepository(db);
  const orders = new OrderRepository(db);
  const tokens = new TokenService(config.jwt.secret, config.jwt.ttlSeconds);
  const checkout = new CheckoutService({ orders, transitions, partners, deadlineMs: config.orders.flowDeadlineMs });
  return {
    tokens,
    auth: new AuthService(users, tokens),
    restaurants: new RestaurantService(restaurants),
    orders: new OrderService({ orders, users, transitions, checkout }),
    feed: new FeedService({ restaurants, partners, deadlineMs: config.feed.deadlineMs, count: config.feed.restaurants }),
    followUps: new FollowUpsService({ orders, partners, log }),
    health: new HealthService(db),
    deadLetters: new DeadLettersService(jobs),
  };
}

export type Services = ReturnType<typeof createServices>;
