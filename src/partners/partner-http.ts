import {
  BrokenCircuitError,
  BulkheadRejectedError,
  bulkhead,
  type CircuitBreakerPolicy,
  CountBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleType,
  handleWhen,
  type IPolicy,
  retry,
  wrap,
} from 'cockatiel';
import type { TSchema } from 'typebox';
import { Pool } from 'undici';
import type { Metrics } from '../ops/metrics.ts';
import { inSpan, trace, traceHeaders } from '../ops/tracing.ts';
import { type Answer, type Answers, firstProblem } from './partner-answers.ts';
import { AnswerTooLarge, PartnerExchange, type Reply } from './partner-exchange.ts';
import { type FailureKind, PartnerError, TransientPartnerError } from './partner-errors.ts';

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

interface CallOptions<Ok extends TSchema, No extends TSchema> {
  operation: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  body?: unknown;
  signal: AbortSignal;
  /** What this call accepts back (partner-answers.ts); any other status or body is a `bad_response`. */
  answers: Answers<Ok, No>;
}

/** Whether any attempt of one call may have sent a byte: PartnerError.mayHaveReached. */
interface CallTrace {
  sent: boolean;
}

const JSON_BODY = { 'content-type': 'application/json' };

class AttemptTimedOut extends Error {}
const timeOut = (exchange: PartnerExchange) => exchange.end(new AttemptTimedOut('attempt timed out'));

/**
 * Retried: transient failures only (a timeout, a reset, a 5xx), which a moment may cure.
 * Counted by the breaker: those, and every `bad_response` (a body that fails its schema, invalid JSON,
 * a status the call does not expect). A partner answering garbage is sick, and an open breaker spares
 * its callers the wait; but garbage is not cured by asking again a few milliseconds later (a mutating
 * call replayed under its idempotency key gets the very same stored answer back), so a bad_response
 * ends the call at once and leaves the caller's deadline to the rest of its work.
 */
const retried = handleType(TransientPartnerError);
const countedByBreaker = handleWhen(
  (err) => err instanceof TransientPartnerError || (err instanceof PartnerError && err.kind === 'bad_response'),
);

/**
 * One outside system: a keep-alive undici Pool and its policies, created once per process.
 * bulkhead (bounded in-flight + bounded queue, reject at once beyond) → retry with exponential
 * backoff and jitter → circuit breaker → the attempt, with its own timeout. Retrying is safe because every
 * mutating call carries an idempotency key that stays the same on every attempt. Each answer is
 * checked against the call's schemas inside its attempt, so a malformed one is a failure that the
 * breaker sees, the metrics count and the span records, like a timeout.
 *
 * The attempt times itself with one timer (see #attempt) rather than through cockatiel's timeout
 * policy, which held ~2.8 KB per call in flight (a controller derived through its own event wrappers,
 * two abort listeners, a timer): with hundreds of calls in flight, much of what every collection of
 * the young generation had to copy (bench/README, "Where the CPU goes"). undici's own headers and
 * body timeouts would cost less still, but tick twice a second: a 500 ms timeout would fire after 1–1.5 s.
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
  readonly #attemptTimeoutMs: number;

  constructor(settings: PartnerSettings, metrics: Metrics) {
    this.name = settings.name;
    // No more calls run than there are sockets: one beyond would wait for a socket inside undici with its
    // attempt timer running, and a burst of our own making would read as the partner timing out (and trip
    // its breaker). Queued in the bulkhead instead, a call's attempt is timed from when it can be sent.
    this.#limits = { maxInFlight: Math.min(settings.maxInFlight, settings.connections), maxQueued: settings.maxQueued };
    this.#metrics = metrics;
    const origin = new URL(settings.url);
    this.#prefix = origin.pathname.replace(/\/$/, '');
    this.#attemptTimeoutMs = settings.attemptTimeoutMs;
    this.#pool = new Pool(origin.origin, {
      connections: settings.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.#bulkhead = bulkhead(this.#limits.maxInFlight, this.#limits.maxQueued);
    this.breaker = circuitBreaker(countedByBreaker, {
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
      retry(retried, {
        maxAttempts: settings.maxAttempts - 1,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 800 }),
      }),
      this.breaker,
    );
    metrics.partnerBreakerState.set({ partner: this.name }, 0);
    this.breaker.onStateChange((state) => metrics.partnerBreakerState.set({ partner: this.name }, state));
  }

  /**
   * A 2xx, or one of the call's expected 4xx, with a body that matches its schema comes back as an
   * answer; anything else is a PartnerError with its kind. One span per call when the request's trace
   * is recorded; when it is not (no exporter), the call carries the request's own trace context and
   * makes no span nobody would read.
   */
  call<Ok extends TSchema, No extends TSchema>(opts: CallOptions<Ok, No>): Promise<Answer<Ok, No>> {
    if (trace.getActiveSpan()?.isRecording() !== true) return this.#call(opts);
    return inSpan(`${this.name} ${opts.operation}`, { 'peer.service': this.name, 'dabba.operation': opts.operation }, (span) =>
      this.#call(opts).then(
        (res) => {
          span.setAttribute('http.response.status_code', res.status);
          return res;
        },
        (err: PartnerError) => {
          if (err.status !== undefined) span.setAttribute('http.response.status_code', err.status);
          throw err;
        },
      ),
    );
  }

  async #call<Ok extends TSchema, No extends TSchema>(opts: CallOptions<Ok, No>): Promise<Answer<Ok, No>> {
    const started = performance.now();
    const trace: CallTrace = { sent: false };
    let outcome = 'ok';
    try {
      const res = await this.#policy.execute(() => this.#attempt(opts, trace), opts.signal);
      if (!res.ok) outcome = 'rejected';
      return res;
    } catch (err) {
      const failure = this.#classify(err, opts.signal, trace.sent);
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

  async #attempt<Ok extends TSchema, No extends TSchema>(opts: CallOptions<Ok, No>, trace: CallTrace): Promise<Answer<Ok, No>> {
    const labels = { partner: this.name, operation: opts.operation };
    const fail = (kind: FailureKind, message: string, extra: { status?: number; cause?: unknown } = {}) => {
      const Failure = kind === 'bad_response' ? PartnerError : TransientPartnerError;
      return new Failure(this.name, kind, message, { ...extra, mayHaveReached: trace.sent });
    };
    // The caller gave up before this attempt began (during a backoff): nothing of it goes out.
    if (opts.signal.aborted) throw opts.signal.reason;
    // Ended by its timeout or by the caller: one timer and one listener, released when the attempt is over.
    const exchange = new PartnerExchange();
    const timer = setTimeout(timeOut, this.#attemptTimeoutMs, exchange);
    const relay = () => exchange.end(opts.signal.reason);
    opts.signal.addEventListener('abort', relay);
    let reply: Reply;
    try {
      this.#pool.dispatch(
        {
          method: opts.method,
          path: this.#prefix + opts.path,
          headers: opts.body === undefined ? traceHeaders() : Object.assign(traceHeaders(), JSON_BODY),
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        },
        exchange,
      );
      reply = await exchange.reply;
    } catch (err) {
      // Nothing goes out before undici takes the request onto a socket: a refused connection, or a timeout while connecting, reached no one.
      trace.sent ||= exchange.started;
      if (err instanceof AnswerTooLarge) {
        this.#metrics.partnerAttempts.inc({ ...labels, result: 'too_large' });
        throw fail('bad_response', `${opts.operation} answered with ${err.message}`, { cause: err });
      }
      // A caller who gave up ends the call; the timeout and the network end only the attempt.
      const result = opts.signal.aborted ? 'aborted' : err instanceof AttemptTimedOut ? 'timeout' : 'network';
      this.#metrics.partnerAttempts.inc({ ...labels, result });
      if (result === 'aborted') throw err;
      throw fail(result === 'timeout' ? 'timeout' : 'unavailable', (err as Error).message, { cause: err });
    } finally {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', relay);
    }
    trace.sent = true;
    const { status, text } = reply;
    this.#metrics.partnerAttempts.inc({ ...labels, result: String(status) });
    if (status >= 500) throw fail('unavailable', `${opts.operation} answered ${status}`, { status });

    const ok = status >= 200 && status < 300;
    const no = opts.answers.no;
    const check = ok ? opts.answers.ok : no?.statuses.includes(status) ? no.body : undefined;
    if (!check) throw fail('bad_response', `${opts.operation} answered ${status}, which it does not expect`, { status });
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch (cause) {
      throw fail('bad_response', `${opts.operation} answered ${status} with invalid JSON`, { status, cause });
    }
    if (!check.Check(body)) throw fail('bad_response', `${opts.operation} answered ${status}: ${firstProblem(check, body)}`, { status });
    return { ok, status, body } as Answer<Ok, No>;
  }

  /** Whatever ended the call, as a PartnerError; `sent` says whether any of its attempts may have gone out. */
  #classify(err: unknown, callerSignal: AbortSignal, sent: boolean): PartnerError {
    if (err instanceof PartnerError) return err;
    const fail = (kind: FailureKind, message: string) => new PartnerError(this.name, kind, message, { cause: err, mayHaveReached: sent });
    if (err instanceof BrokenCircuitError) return fail('breaker_open', 'circuit open');
    if (err instanceof BulkheadRejectedError) return fail('bulkhead_full', 'too many calls in flight');
    if (callerSignal.aborted) return fail('aborted', 'deadline passed or caller went away');
    return fail('unavailable', (err as Error).message);
  }

  close() {
    return this.#pool.close();
  }
}
