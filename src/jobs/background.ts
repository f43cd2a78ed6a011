import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import { FollowUpOutboxRepository } from '../db/repositories/follow-up-outbox.repository.ts';
import { OrderRepository } from '../db/repositories/order.repository.ts';
import { FOLLOW_UPS } from '../domain/follow-ups.ts';
import type { DispatcherDeps } from '../dispatch/dispatcher.ts';
import { startDispatch } from '../dispatch/dispatch.ts';
import type { EventBus } from '../live/event-bus.ts';
import type { LoopMonitor } from '../ops/loop-monitor.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { FollowUpsService } from '../services/follow-ups.service.ts';
import type { MenuSyncService } from '../services/menu-sync.service.ts';
import { OrderSweeper } from '../services/order-sweeper.ts';
import type { OrderTransitions } from '../services/order-transitions.ts';
import { FollowUpRelay } from './follow-up-relay.ts';
import type { JobQueue } from './job-queue.ts';

/** Workers per kind of job in one process, each running a batch of jobs at once; partner bulkheads bound the rest. */
const JOB_WORKERS = 4;

/** How long a relay run waits for more moves to join it: invisible to a notification, and under load it batches many orders. */
const RELAY_DELAY_MS = 50;

export interface BackgroundDeps {
  config: Config;
  db: Db;
  /** The queue, shared with the use case that lets an operator read and resend dead letters. */
  jobs: JobQueue;
  transitions: OrderTransitions;
  followUps: FollowUpsService;
  menuSync: MenuSyncService;
  monitor: LoopMonitor;
  log: FastifyBaseLogger;
  /** Dispatch's offers and answers travel on it. */
  bus: EventBus;
  metrics: Metrics;
  /** The couriers dispatch may offer orders to. */
  couriers: DispatcherDeps['couriers'];
}

/**
 * Everything dabba does in the background, started and stopped here alone: the job queue, the relay
 * that turns owed follow-ups into jobs (created here), the job workers, the stuck-order sweeper and
 * the menu sync's schedule (MENU_SYNC_CRON) and worker, and this node's part in dispatch (zone leases,
 * the dispatcher, its solver threads).
 * Started once the database is migrated; stopped in the order that loses nothing (no new sweeps,
 * relay what is owed, let running jobs finish). With `workers: false` (tests that drive jobs by hand)
 * moves are still relayed into the queue, but nothing works the jobs, sweeps, relays on a timer or
 * dispatches, and the menu sync's schedule is left as it is.
 */
export class Background {
  readonly #deps: BackgroundDeps;
  readonly #workers: boolean;
  readonly #jobs: JobQueue;
  readonly #relay: FollowUpRelay;
  readonly #sweeper: OrderSweeper;
  #dispatch: ReturnType<typeof startDispatch> | undefined;

  constructor(deps: BackgroundDeps, opts: { workers: boolean }) {
    const { config, db, log } = deps;
    this.#deps = deps;
    this.#workers = opts.workers;
    this.#jobs = deps.jobs;
    this.#relay = new FollowUpRelay({
      db,
      outbox: new FollowUpOutboxRepository(db),
      jobs: this.#jobs,
      delayMs: RELAY_DELAY_MS,
      sweepMs: config.jobs.pollIntervalMs,
      onError: (err) => log.error({ err }, 'relaying follow-ups failed'),
    });
    this.#sweeper = new OrderSweeper({
      orders: new OrderRepository(db),
      transitions: deps.transitions,
      log,
      intervalMs: config.orders.sweepIntervalMs,
      checkoutTimeoutMs: config.orders.placedStuckAfterMs,
      tabletTimeoutMs: config.orders.tabletAcceptTimeoutMs,
      pickupTimeoutMs: config.orders.pickupTimeoutMs,
    });
    // Every move leaves follow-ups owed; the relay carries them into the queue soon after.
    deps.transitions.onMoved(() => this.#relay.kick());
  }

  async start() {
    await this.#jobs.start();
    if (!this.#workers) return;
    const { followUps, menuSync, monitor, config } = this.#deps;
    for (const name of FOLLOW_UPS) {
      await this.#jobs.work(name, JOB_WORKERS, (batch) => {
        monitor.enter(`job ${name}`);
        return followUps.run(name, batch);
      });
    }
    await this.#jobs.workMenuSync((job) => {
      monitor.enter('job menu_sync');
      return menuSync.run(job);
    });
    await this.#jobs.scheduleMenuSync(config.menuSync.cron);
    this.#sweeper.start();
    this.#relay.start();
    const { db, transitions, bus, metrics, couriers, log } = this.#deps;
    this.#dispatch = startDispatch({ config, db, transitions, couriers, bus, metrics, log });
  }

  async close() {
    await this.#dispatch?.close();
    await this.#sweeper.close();
    await this.#relay.close();
    await this.#jobs.stop();
  }

  /** Waiting and running jobs per queue, for the metrics page. */
  depth() {
    return this.#jobs.depth();
  }
}
