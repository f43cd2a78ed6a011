/** A follow-up that exhausted its retries, as the queue reports it. */
export interface DeadFollowUp {
  id: string;
  /** The queue it failed on: notify, capture or compensate. */
  queue: string | null;
  orderId: string;
  status: string;
  error: string | null;
  deadSince: Date;
}

/** Where dead-lettered follow-ups are kept (the job queue). */
export interface DeadLetterStore {
  deadLetters(): Promise<DeadFollowUp[]>;
  redrive(ids: string[]): Promise<number>;
}

/**
 * The operator's view of follow-ups that gave up: a capture the gateway kept refusing, a compensation
 * that could not reach the POS for hours. Listing them says which orders need a look; resending one
 * puts it back on its queue with fresh retries, safe because every follow-up is idempotent.
 */
export class DeadLettersService {
  readonly #store: DeadLetterStore;

  constructor(store: DeadLetterStore) {
    this.#store = store;
  }

  async list() {
    const items = await this.#store.deadLetters();
    return {
      items: items.map((d) => ({
        id: d.id,
        queue: d.queue,
        order_id: d.orderId,
        status: d.status,
        error: d.error,
        dead_since: d.deadSince,
      })),
    };
  }

  async resend(ids: string[]) {
    return { resent: await this.#store.redrive(ids) };
  }
}
