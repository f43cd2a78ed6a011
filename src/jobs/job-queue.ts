import { type JobWithMetadata, PgBoss, fromKysely } from 'pg-boss';
import type { Tx } from '../db/database.ts';
import { FOLLOW_UPS, type FollowUp } from '../domain/follow-ups.ts';
import type { DeadFollowUp } from '../services/dead-letters.service.ts';
import type { MenuSyncJob } from '../services/menu-sync.service.ts';

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
 * Menu syncs: the schedule's runs (every restaurant) and runs someone asked for (some restaurants).
 * `exclusive`: at most one job per singleton key queued or running, so a run still going when the next
 * tick comes is not doubled, and a burst of requests for one restaurant collapses into one job.
 * A run fails only when it cannot list the restaurants: retried once, then the next tick tries again.
 */
export const MENU_SYNC = 'menu_sync';
const MENU_SYNC_QUEUE = {
  policy: 'exclusive',
  // A whole run is bounded by its per-restaurant deadlines; longer than this, its worker died.
  expireInSeconds: 15 * 60,
  retryLimit: 1,
  retryDelay: 10,
  deleteAfterSeconds: 24 * 3600,
} as const;

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
    if (!(await this.#boss.getQueue(MENU_SYNC))) await this.#boss.createQueue(MENU_SYNC, MENU_SYNC_QUEUE);
  }

  /**
   * Runs the menu sync on `cron` (null: not at all). A pg-boss schedule is one row per queue in the
   * database: every node may call this, and each tick sends one job whichever node's clock claims it.
   * @see https://timgit.github.io/pg-boss/#/./api/scheduling
   */
  async scheduleMenuSync(cron: string | null) {
    if (cron) await this.#boss.schedule(MENU_SYNC, cron, {});
    else await this.#boss.unschedule(MENU_SYNC);
  }

  /** Asks for a sync of these restaurants soon; one already waiting for a restaurant absorbs the request. */
  async requestMenuSync(restaurantIds: string[]) {
    await this.#boss.send(MENU_SYNC, { restaurantIds }, restaurantIds.length === 1 ? { singletonKey: `restaurant:${restaurantIds[0]}` } : {});
  }

  /** Works menu sync jobs, a batch at a time: the restaurants they name are synced together (all, if one names none). */
  async workMenuSync(handler: (job: MenuSyncJob) => Promise<unknown>) {
    await this.#boss.work<MenuSyncJob>(
      MENU_SYNC,
      { batchSize: BATCH_SIZE, localConcurrency: 2, pollingIntervalSeconds: this.#pollIntervalMs / 1000 },
      async (jobs) => {
        const everything = jobs.some((job) => !job.data?.restaurantIds);
        return handler(everything ? {} : { restaurantIds: [...new Set(jobs.flatMap((job) => job.data!.restaurantIds!))] });
      },
    );
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
      [[...FOLLOW_UPS, DEAD_LETTERS, MENU_SYNC]],
    );
    const byName = new Map(rows.map((r: { name: string; queued: number; active: number; oldest: number }) => [r.name, r]));
    return [...FOLLOW_UPS, DEAD_LETTERS, MENU_SYNC].map((name) => {
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
