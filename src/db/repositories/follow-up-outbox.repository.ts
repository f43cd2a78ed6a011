import { sql } from 'kysely';
import type { OrderStatus } from '../../domain/order-status.ts';
import type { Executor } from '../database.ts';

export interface OwedFollowUps {
  order_id: string;
  to_status: OrderStatus;
}

/** The pending follow-ups of order events (see migration 0003): claimed in batches by the relay. */
export class FollowUpOutboxRepository {
  private readonly db: Executor;

  constructor(db: Executor) {
    this.db = db;
  }

  /**
   * Marks up to `limit` pending events (the oldest) as relayed and returns them. Meant to run in the
   * transaction that queues their jobs, so a crash leaves them pending; SKIP LOCKED lets several
   * nodes relay at once without waiting on, or doubling, each other's batches.
   */
  async claim(limit: number, db: Executor = this.db): Promise<OwedFollowUps[]> {
    const { rows } = await sql<OwedFollowUps>`
      UPDATE order_events e SET follow_ups_pending = false
        FROM (SELECT id FROM order_events WHERE follow_ups_pending ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED) due
       WHERE e.id = due.id
      RETURNING e.order_id, e.to_status
    `.execute(db);
    return rows;
  }
}
