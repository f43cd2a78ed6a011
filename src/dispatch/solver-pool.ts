import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { type BatchAssignment, type BatchTask, packBatch, type ZoneBatch } from './batch-task.ts';

export interface SolverPoolOptions {
  threads: number;
  /** Batches waiting for a thread before assign() rejects at once (default: 4 per thread). */
  maxQueue?: number;
  /** A thread idle this long exits, so an idle node holds none (default 30 s). */
  idleTimeoutMs?: number;
}

export interface TimedBatchAssignment extends BatchAssignment {
  /** From the call to the answer: packing, waiting for a thread, sending, building, solving, answering. */
  ms: number;
}

/**
 * The dispatch solver off the main loop: a worker-thread pool (piscina) with a bounded queue. A thread
 * builds a batch's cost matrix and solves it, so a 1,000 × 500 batch (half a million distances, then the
 * assignment) never holds the event loop that serves requests and streams. Threads start on demand and
 * exit when idle.
 * @see https://github.com/piscinajs/piscina#constructor-new-piscinaoptions
 */
export class SolverPool {
  readonly #pool: Piscina<BatchTask, BatchAssignment>;
  #closing: Promise<void> | undefined;

  constructor(opts: SolverPoolOptions) {
    this.#pool = new Piscina({
      filename: new URL('./solver.worker.ts', import.meta.url).href,
      minThreads: 0,
      maxThreads: opts.threads,
      maxQueue: opts.maxQueue ?? opts.threads * 4,
      idleTimeout: opts.idleTimeoutMs ?? 30_000,
      // A batch is seconds of work at most; close() waits this long for one already running.
      closeTimeout: 10_000,
    });
  }

  /**
   * Assigns one zone's batch on a pool thread: its cost matrix built there, the refused pairs forbidden,
   * then solved. Rejects when the queue is full, the signal aborts (a batch already running is stopped
   * with its thread) or the pool is closed.
   */
  async assign(batch: ZoneBatch, signal?: AbortSignal): Promise<TimedBatchAssignment> {
    if (this.#closing) throw new Error('the dispatch solver pool is closed');
    signal?.throwIfAborted();
    const started = performance.now();
    const task = packBatch(batch);
    const answer = await this.#pool.run(task, {
      transferList: [task.couriers.buffer, task.orders.buffer, task.refused.buffer],
      signal: signal ?? null,
    });
    return { ...answer, ms: performance.now() - started };
  }

  /** Threads alive now (none once idle past the timeout, or closed). */
  get threads(): number {
    return this.#pool.threads.length;
  }

  /** Batches waiting for a thread. */
  get queued(): number {
    return this.#pool.queueSize;
  }

  /** Rejects the batches still queued, lets a running one finish (up to 10 s), and ends every thread. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.close({ force: true });
    return this.#closing;
  }
}

