import { PgBoss, fromKysely } from 'pg-boss';
import type { Tx } from '../db/database.ts';
import { FOLLOW_UPS, type FollowUp } from '../domain/follow-ups.ts';

export interface FollowUpJob {
  orderId: string;
  /** The status whose change created the job: one notification per change, not per order. */
  status: string;
}

const QUEUE_OPTIONS = {
  // Partner calls inside a job are bounded by their own deadlines, so a job active this long belongs
  // to a process that died: pg-boss hands it to another worker.
  expireInSeconds: 30,
  retryLimit: 50,
  retryDelay: 1,
  retryBackoff: true,
  retryDelayMax: 300,
  deleteAfterSeconds: 7 * 24 * 3600,
} as const;

/** Jobs fetched and settled per round trip by each worker. */
const BATCH_SIZE = 16;

/**
 * Durable follow-up work on pg-boss, in the same PostgreSQL as the orders. Jobs are inserted inside
 * the relay's transaction that clears their events' `follow_ups_pending` (see FollowUpRelay), so a
 * follow-up is queued exactly when it stops being owed.
 * @see https://github.com/timgit/pg-boss/blob/master/docs/api/adapters.md
 */
export class JobQueue {
  readonly #boss: PgBoss;
  readonly #pollIntervalMs: number;
  #started = false;

  constructor(opts: { url: string; pollIntervalMs: number; onError: (err: Error) => void }) {
    this.#boss = new PgBoss({
      connectionString: opts.url,
      max: 4,
      application_name: 'dabba-jobs',
      // Expired jobs (their worker died) are found by the supervisor: every 10 s rather than pg-boss's 60.
      superviseIntervalSeconds: 10,
    });
    this.#boss.on('error', opts.onError);
    this.#pollIntervalMs = opts.pollIntervalMs;
  }

  async start() {
    await this.#boss.start();
    this.#started = true;
    for (const name of FOLLOW_UPS) {
      if (!(await this.#boss.getQueue(name))) await this.#boss.createQueue(name, QUEUE_OPTIONS);
    }
  }

  /** Queues jobs inside the caller's transaction: they exist exactly when it commits. */
  async enqueueMany(tx: Tx, name: FollowUp, jobs: FollowUpJob[]) {
    await this.#boss.insert(name, jobs.map((data) => ({ data })), { db: fromKysely(tx) });
  }

  /**
   * Hands `handler` up to BATCH_SIZE jobs at a time, fetched and settled in one round trip each; it
   * answers with one outcome per job, so a failure retries (with exponential backoff) only its job.
   * @see https://timgit.github.io/pg-boss/#/./api/workers
   */
  async work(name: FollowUp, workers: number, handler: (jobs: FollowUpJob[]) => Promise<PromiseSettledResult<unknown>[]>) {
    await this.#boss.work<FollowUpJob>(
      name,
      {
        batchSize: BATCH_SIZE,
        burstWhenBatchFull: true,
        perJobResults: true,
        localConcurrency: workers,
        pollingIntervalSeconds: this.#pollIntervalMs / 1000,
      },
      async (jobs) => {
        const outcomes = await handler(jobs.map((job) => job.data));
        return jobs.map((job, i) => {
          const outcome = outcomes[i];
          return outcome?.status === 'fulfilled'
            ? { id: job.id, status: 'completed' as const }
            : { id: job.id, status: 'failed' as const, output: { message: String((outcome?.reason as Error)?.message ?? outcome?.reason) } };
        });
      },
    );
  }

  /** Waiting and running jobs per queue, and how long the oldest waiting one has waited. */
  async depth() {
    const { rows } = await this.#boss.getDb().executeSql(
      `SELECT name,
              count(*) FILTER (WHERE state IN ('created', 'retry'))::int AS queued,
              count(*) FILTER (WHERE state = 'active')::int AS active,
              coalesce(extract(epoch FROM now() - min(created_on) FILTER (WHERE state IN ('created', 'retry'))), 0)::float8 AS oldest
         FROM pgboss.job
        WHERE name = ANY($1) AND state IN ('created', 'retry', 'active')
        GROUP BY name`,
      [[...FOLLOW_UPS]],
    );
    const byName = new Map(rows.map((r: { name: string; queued: number; active: number; oldest: number }) => [r.name, r]));
    return FOLLOW_UPS.map((name) => {
      const r = byName.get(name);
      return { name, queued: r?.queued ?? 0, active: r?.active ?? 0, oldestSeconds: r?.oldest ?? 0 };
    });
  }

  /** Stops taking jobs, lets running ones finish (up to `timeoutMs`), then closes the pool. */
  async stop(timeoutMs = 10_000) {
    if (!this.#started) return;
    this.#started = false;
    await this.#boss.stop({ graceful: true, timeout: timeoutMs, close: true });
  }
}
