import type { Db } from '../db/database.ts';
import type { FollowUpOutboxRepository } from '../db/repositories/follow-up-outbox.repository.ts';
import { type FollowUp, followUps } from '../domain/follow-ups.ts';
import { detached } from '../ops/tracing.ts';
import type { FollowUpJob, JobQueue } from './job-queue.ts';

const BATCH = 500;

/**
 * Turns the follow-ups that status changes leave pending in `order_events` into pg-boss jobs, many
 * per transaction. A move only nudges it (`kick`); runs wait `delayMs` so that under load one run
 * carries the follow-ups of many orders, which is what makes a status change one statement instead
 * of a transaction with a job insert per follow-up. A timer sweep catches whatever a process that
 * died between its move and its relay run left pending.
 */
export class FollowUpRelay {
  readonly #db: Db;
  readonly #outbox: FollowUpOutboxRepository;
  readonly #jobs: JobQueue;
  readonly #delayMs: number;
  readonly #sweepMs: number;
  readonly #onError: (err: unknown) => void;
  #due: NodeJS.Timeout | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(deps: { db: Db; outbox: FollowUpOutboxRepository; jobs: JobQueue; delayMs: number; sweepMs: number; onError: (err: unknown) => void }) {
    this.#db = deps.db;
    this.#outbox = deps.outbox;
    this.#jobs = deps.jobs;
    this.#delayMs = deps.delayMs;
    this.#sweepMs = deps.sweepMs;
    this.#onError = deps.onError;
  }

  /** Something is pending: relay it soon. Cheap and idempotent, so every move may call it. */
  kick() {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#due ??= detached(() => setTimeout(() => this.#run(), this.#delayMs));
  }

  /** Sweeps on a timer as well, starting now: a restart picks up what the last process left. */
  start() {
    this.#sweep = setInterval(() => this.kick(), this.#sweepMs);
    this.#sweep.unref();
    this.kick();
  }

  /** Relays one batch; returns how many events it carried. */
  relayOnce(): Promise<number> {
    return this.#db.transaction().execute(async (tx) => {
      const owed = await this.#outbox.claim(BATCH, tx);
      const byQueue = new Map<FollowUp, FollowUpJob[]>();
      for (const event of owed) {
        for (const name of followUps(event.to_status)) {
          const jobs = byQueue.get(name) ?? [];
          jobs.push({ orderId: event.order_id, status: event.to_status });
          byQueue.set(name, jobs);
        }
      }
      for (const [name, jobs] of byQueue) await this.#jobs.enqueueMany(tx, name, jobs);
      return owed.length;
    });
  }

  #run() {
    this.#due = undefined;
    this.#again = false;
    this.#running = this.relayOnce()
      .then((count) => {
        if (count === BATCH) this.#again = true;
      })
      .catch(this.#onError)
      .finally(() => {
        this.#running = undefined;
        if (this.#again) this.kick();
      });
  }

  /** Stops the timers and relays what is still pending, so a graceful stop owes nothing. */
  async close() {
    this.#closed = true;
    clearTimeout(this.#due);
    clearInterval(this.#sweep);
    await this.#running;
    try {
      while ((await this.relayOnce()) === BATCH);
    } catch (err) {
      // The database went first; the next process's start-up sweep relays what is left.
      this.#onError(err);
    }
  }
}
