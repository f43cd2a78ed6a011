import {
  BrokenCircuitError,
  BulkheadRejectedError,
  type CircuitBreakerPolicy,
  CountBreaker,
  ExponentialBackoff,
  type IPolicy,
  TaskCancelledError,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleType,
  retry,
  timeout,
  wrap,
} from 'cockatiel';
import { Pool } from 'undici';
import type { Metrics } from '../ops/metrics.ts';
import { inSpan, traceHeaders } from '../ops/tracing.ts';
import { PartnerError, TransientPartnerError } from './partner-errors.ts';

export interface PartnerSettings {
  name: string;
  url: string;
  /** Per attempt; the caller's signal bounds the whole call, retries included. */
  attemptTimeoutMs: number;
  maxAttempts: number;
  maxInFlight: number;
  maxQueued: number;
  connections: number;
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
}

export interface PartnerResponse<T> {
  status: number;
  body: T;
}

interface CallOptions {
  operation: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: unknown;
  signal: AbortSignal;
}

/**
 * One outside system: a keep-alive undici Pool and its policies, created once per process.
 * bulkhead (bounded in-flight + bounded queue, reject at once beyond) → retry with exponential
 * backoff and jitter → circuit breaker → per-attempt timeout. Retrying is safe because every
 * mutating call carries an idempotency key that stays the same on every attempt.
 * @see https://github.com/connor4312/cockatiel#readme
 */
export class PartnerHttp {
  readonly name: string;
  readonly breaker: CircuitBreakerPolicy;
  readonly #pool: Pool;
  readonly #bulkhead: ReturnType<typeof bulkhead>;
  readonly #policy: IPolicy;
  readonly #metrics: Metrics;
  readonly #limits: { maxInFlight: number; maxQueued: number };
  readonly #prefix: string;

  constructor(settings: PartnerSettings, metrics: Metrics) {
    this.name = settings.name;
    this.#limits = { maxInFlight: settings.maxInFlight, maxQueued: settings.maxQueued };
    this.#metrics = metrics;
    const origin = new URL(settings.url);
    this.#prefix = origin.pathname.replace(/\/$/, '');
    this.#pool = new Pool(origin.origin, {
      connections: settings.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    const transient = handleType(TransientPartnerError);
    this.#bulkhead = bulkhead(settings.maxInFlight, settings.maxQueued);
    this.breaker = circuitBreaker(transient, {
      halfOpenAfter: settings.breakerHalfOpenAfterMs,
      // Opens when half of the recent attempts failed, once there are enough of them to judge: a partner
      // answering thousands of calls a second is not "down" because a handful timed out in a row.
      breaker: new CountBreaker({
        threshold: 0.5,
        size: Math.max(100, settings.breakerThreshold),
        minimumNumberOfCalls: settings.breakerThreshold,
      }),
    });
    this.#policy = wrap(
      this.#bulkhead,
      retry(transient, {
        maxAttempts: settings.maxAttempts - 1,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 800 }),
      }),
      this.breaker,
      // Cooperative: the attempt's own abort surfaces as TransientPartnerError('timeout') (see #attempt), so a
      // timed-out attempt is retried and counts against the breaker. Aggressive rejected first with a
      // TaskCancelledError that neither the retry nor the breaker handle: a hanging partner never tripped it.
      // No abort on return: the attempt is over by then, and aborting builds a DOMException (with its
      // stack) for every successful call.
      timeout(settings.attemptTimeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false }),
    );
    metrics.partnerBreakerState.set({ partner: this.name }, 0);
    this.breaker.onStateChange((state) => metrics.partnerBreakerState.set({ partner: this.name }, state));
  }

  /** 2xx and 4xx come back as answers; anything else is a PartnerError with its kind. One span per call. */
  call<T>(opts: CallOptions): Promise<PartnerResponse<T>> {
    return inSpan(`${this.name} ${opts.operation}`, { 'peer.service': this.name, 'dabba.operation': opts.operation }, (span) =>
      this.#call<T>(opts).then((res) => {
        span.setAttribute('http.response.status_code', res.status);
        return res;
      }),
    );
  }

  async #call<T>(opts: CallOptions): Promise<PartnerResponse<T>> {
    const started = performance.now();
    let outcome = 'ok';
    try {
      const res = await this.#policy.execute(({ signal }) => this.#attempt<T>(opts, signal), opts.signal);
      if (res.status >= 400) outcome = 'rejected';
      return res;
    } catch (err) {
      const failure = this.#classify(err, opts.signal);
      outcome = failure.kind;
      throw failure;
    } finally {
      this.#metrics.partnerCallSeconds.observe(
        { partner: this.name, operation: opts.operation, outcome },
        (performance.now() - started) / 1000,
      );
    }
  }

  /** Read at scrape time by the bulkhead gauges (metrics.ts), never set by hand on a call's path. */
  bulkheadUsage() {
    return {
      inFlight: this.#limits.maxInFlight - this.#bulkhead.executionSlots,
      queued: this.#limits.maxQueued - this.#bulkhead.queueSlots,
    };
  }

  async #attempt<T>(opts: CallOptions, attemptSignal: AbortSignal): Promise<PartnerResponse<T>> {
    const signal = AbortSignal.any([opts.signal, attemptSignal]);
    const labels = { partner: this.name, operation: opts.operation };
    let res: Awaited<ReturnType<Pool['request']>>;
    try {
      res = await this.#pool.request({
        method: opts.method,
        path: this.#prefix + opts.path,
        headers: { ...traceHeaders(), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal,
      });
    } catch (err) {
      this.#metrics.partnerAttempts.inc({ ...labels, result: signal.aborted ? 'timeout' : 'network' });
      if (opts.signal.aborted) throw err;
      throw new TransientPartnerError(this.name, signal.aborted ? 'timeout' : 'unavailable', (err as Error).message, { cause: err });
    }
    const text = await res.body.text();
    this.#metrics.partnerAttempts.inc({ ...labels, result: String(res.statusCode) });
    if (res.statusCode >= 500) {
      throw new TransientPartnerError(this.name, 'unavailable', `${opts.operation} answered ${res.statusCode}`, {
        status: res.statusCode,
      });
    }
    try {
      return { status: res.statusCode, body: JSON.parse(text) as T };
    } catch (cause) {
      throw new PartnerError(this.name, 'bad_response', `${opts.operation} answered with invalid JSON`, { cause });
    }
  }

  #classify(err: unknown, callerSignal: AbortSignal): PartnerError {
    if (err instanceof PartnerError) return err;
    if (err instanceof BrokenCircuitError) return new PartnerError(this.name, 'breaker_open', 'circuit open', { cause: err });
    if (err instanceof BulkheadRejectedError) return new PartnerError(this.name, 'bulkhead_full', 'too many calls in flight', { cause: err });
    if (callerSignal.aborted) return new PartnerError(this.name, 'aborted', 'deadline passed or caller went away', { cause: err });
    if (err instanceof TaskCancelledError) return new PartnerError(this.name, 'timeout', 'attempt timed out', { cause: err });
    return new PartnerError(this.name, 'unavailable', (err as Error).message, { cause: err });
  }

  close() {
    return this.#pool.close();
  }
}
