import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { DispatchRepository } from '../db/repositories/dispatch.repository.ts';
import { OrderRepository } from '../db/repositories/order.repository.ts';
import type { EventBus } from '../live/event-bus.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { OrderTransitions } from '../services/order-transitions.ts';
import { Dispatcher, type DispatcherDeps } from './dispatcher.ts';
import { RestaurantZones } from './restaurant-zones.ts';
import { SolverPool } from './solver-pool.ts';
import { ZoneLeases } from './zone-leases.ts';

export interface DispatchDeps {
  config: Config;
  db: Db;
  transitions: OrderTransitions;
  couriers: DispatcherDeps['couriers'];
  bus: EventBus;
  metrics: Metrics;
  log: FastifyBaseLogger;
}

/**
 * This node's part in dispatch: it competes for the lease of every zone with restaurants and
 * dispatches the zones it wins, solving their batches on its own worker threads. Stopped in the
 * order that leaves nothing half done: no more rounds or offers (unanswered ones withdrawn), then
 * the leases (other nodes take the zones on their next check), then the solver threads.
 */
export function startDispatch({ config, db, transitions, couriers, bus, metrics, log }: DispatchDeps) {
  const repo = new DispatchRepository(db);
  const zones = new RestaurantZones(repo, config.dispatch.zoneResolution);
  const leases = new ZoneLeases({
    url: config.database.url!,
    checkMs: config.dispatch.leaseCheckMs,
    zones: () => zones.zones(),
    metrics,
    log,
  });
  const solver = new SolverPool({ threads: config.dispatch.solverThreads });
  const dispatcher = new Dispatcher({
    leases,
    zones,
    repo,
    orders: new OrderRepository(db),
    transitions,
    couriers,
    solver,
    bus,
    metrics,
    log,
    config: config.dispatch,
  });
  dispatcher.start();
  leases.start();
  return {
    leases,
    async close() {
      await dispatcher.close();
      await leases.close();
      await solver.close();
    },
  };
}
