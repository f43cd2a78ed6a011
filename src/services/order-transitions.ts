import type { Db } from '../db/database.ts';
import type { OrderRepository, StatusChange } from '../db/repositories/order.repository.ts';
import { followUps } from '../domain/follow-ups.ts';
import type { JobQueue } from '../jobs/job-queue.ts';

/**
 * The one writer of order statuses. A move is a versioned update, its event, and its follow-up jobs,
 * all in one transaction: a crash leaves either the old status or the new one with its jobs queued.
 */
export class OrderTransitions {
  readonly #db: Db;
  readonly #orders: OrderRepository;
  readonly #jobs: JobQueue;

  constructor(db: Db, orders: OrderRepository, jobs: JobQueue) {
    this.#db = db;
    this.#orders = orders;
    this.#jobs = jobs;
  }

  /** False when the order's version moved on since it was read; the caller re-reads and decides again. */
  move(change: StatusChange): Promise<boolean> {
    return this.#db.transaction().execute(async (tx) => {
      if (!(await this.#orders.changeStatus(change, tx))) return false;
      for (const job of followUps(change.to)) {
        await this.#jobs.enqueue(tx, job, { orderId: change.orderId, status: change.to });
      }
      return true;
    });
  }
}
