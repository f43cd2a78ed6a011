import { type JobWithMetadata, PgBoss, fromKysely } from 'pg-boss';
import type { Tx } from '../db/database.ts';
import { FOLLOW_UPS, type FollowUp } from '../domain/follow-ups.ts';
import type { DeadFollowUp } from '../services/dead-letters.service.ts';

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
 * Where a follow-up goes once its retries are spent (~3.5 h of backoff): nobody works this queue, so
 * the job waits there, counted on /metrics, for an operator to read why and send it back.
 */
export const DEAD_LETTERS = 'follow_ups_dead';


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

  readonly #onExhausted: (name: FollowUp, job: FollowUpJob, reason: unknown) => void;

  constructor(opts: {
    url: string;
    pollIntervalMs: number;
    onError: (err: Error) => void;
    /** A job failed its last attempt and moved to the dead letters: alert-worthy. */
    onExhausted?: (name: FollowUp, job: FollowUpJob, reason: unknown) => void;
  }) {
    this.#boss = new PgBoss({
      connectionString: opts.url,
      max: 4,
      application_name: 'dabba-jobs',
      // Expired jobs (their worker died) are found by the supervisor: every 10 s rather than pg-boss's 60.
      superviseIntervalSeconds: 10,
    });
    this.#boss.on('error', opts.onError);
    this.#pollIntervalMs = opts.pollIntervalMs;
    this.#onExhausted = opts.onExhausted ?? (() => {});
  }

  async start() {
    await this.#boss.start();
    this.#started = true;
    if (!(await this.#boss.getQueue(DEAD_LETTERS))) await this.#boss.createQueue(DEAD_LETTERS, { deleteAfterSeconds: 30 * 24 * 3600 });
    for (const name of FOLLOW_UPS) {
      const queue = await this.#boss.getQueue(name);
      if (!queue) await this.#boss.createQueue(name, { ...QUEUE_OPTIONS, deadLetter: DEAD_LETTERS });
      else if (queue.deadLetter !== DEAD_LETTERS) await this.#boss.updateQueue(name, { deadLetter: DEAD_LETTERS });
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
    await this.#boss.work(
      name,
      {
        batchSize: BATCH_SIZE,
        burstWhenBatchFull: true,
        perJobResults: true,
        includeMetadata: true,
        localConcurrency: workers,
        pollingIntervalSeconds: this.#pollIntervalMs / 1000,
      },
      async (jobs: JobWithMetadata<FollowUpJob>[]) => {
        const outcomes = await handler(jobs.map((job) => job.data));
        return jobs.map((job, i) => {
          const outcome = outcomes[i];
          if (outcome?.status === 'fulfilled') return { id: job.id, status: 'completed' as const };
          if (job.retryCount >= job.retryLimit) this.#onExhausted(name, job.data, outcome?.reason);
          return { id: job.id, status: 'failed' as const, output: { message: String((outcome?.reason as Error)?.message ?? outcome?.reason) } };
        });
      },
    );
  }

  /** The follow-ups that exhausted their retries and wait for an operator, oldest first. */
  async deadLetters(): Promise<DeadFollowUp[]> {
    const jobs = await this.#boss.findJobs<FollowUpJob>(DEAD_LETTERS, { queued: true });
    // Why it died is on the original job, kept in its queue until deleteAfterSeconds.
    const errors = await Promise.all(
      jobs.map(async (job) => {
        if (!job.sourceName || !job.sourceId) return null;
        const [original] = await this.#boss.findJobs(job.sourceName, { id: job.sourceId });
        return (original?.output as { message?: string } | undefined)?.message ?? null;
      }),
    );
    return jobs
      .map((job, i) => ({
        id: job.id,
        queue: job.sourceName,
        orderId: job.data.orderId,
        status: job.data.status,
        error: errors[i] ?? null,
        deadSince: job.createdOn,
      }))
      .sort((a, b) => a.deadSince.getTime() - b.deadSince.getTime());
  }

  /** Sends dead-lettered follow-ups back to the queues they failed on, with fresh retries; returns how many moved. */
  redrive(ids: string[]) {
    return this.#boss.redrive(DEAD_LETTERS, { ids });
  }

  /** Waiting and running jobs per queue (the dead letters included), and how long the oldest waiting one has waited. */
  async depth() {
    const { rows } = await this.#boss.getDb().executeSql(
      `SELECT name,
              count(*) FILTER (WHERE state IN ('created', 'retry'))::int AS queued,
              count(*) FILTER (WHERE state = 'active')::int AS active,
              coalesce(extract(epoch FROM now() - min(created_on) FILTER (WHERE state IN ('created', 'retry'))), 0)::float8 AS oldest
         FROM pgboss.job
        WHERE name = ANY($1) AND state IN ('created', 'retry', 'active')
        GROUP BY name`,
      [[...FOLLOW_UPS, DEAD_LETTERS]],
    );
    const byName = new Map(rows.map((r: { name: string; queued: number; active: number; oldest: number }) => [r.name, r]));
    return [...FOLLOW_UPS, DEAD_LETTERS].map((name) => {
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
