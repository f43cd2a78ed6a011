import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { OrderRepository } from '../db/repositories/order.repository.ts';
import { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import { UserRepository } from '../db/repositories/user.repository.ts';
import { AuthService } from './auth.service.ts';
import { HealthService } from './health.service.ts';
import { OrderService } from './order.service.ts';
import { RestaurantService } from './restaurant.service.ts';
import { TokenService } from './token.service.ts';

/** Wires repositories into services once per process; routes only ever see the services. */
export function createServices(db: Db, config: Config) {
  const users = new UserRepository(db);
  const restaurants = new RestaurantRepository(db);
  const orders = new OrderRepository(db);
  const tokens = new TokenService(config.jwt.secret, config.jwt.ttlSeconds);
  return {
    tokens,
    auth: new AuthService(users, tokens),
    restaurants: new RestaurantService(restaurants),
    orders: new OrderService({ db, orders, restaurants, users }),
    health: new HealthService(db),
  };
}

export type Services = ReturnType<typeof createServices>;
