import { Agent, fetch, request } from 'undici';
import type { FetchLike } from 'eventsource';
import type { CityClock } from './clock.ts';
import type { Tally } from './report.ts';

/** An account signed in through the API. */
export interface Session {
  id: string;
  email: string;
  token: string;
}

export interface Answer<T> {
  status: number;
  body: T;
  retryAfterMs?: number;
}

interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Non-2xx statuses the caller handles itself: not counted as errors. */
  expected?: number[];
  /** Instead of the city's own: for the goodbyes sent while it stops. */
  signal?: AbortSignal;
  /**
   * Asks again, after Retry-After, when the API sheds load (503) or rate-limits (429): for what a client
   * must get done before anything else (signing in, going on shift, a stream ticket). Counted as retried.
   */
  retry?: boolean;
}

const REQUEST_TIMEOUT_MS = 10_000;
const RETRIES = 5;
/** Statuses that say "not now": the API shedding load, or a rate limit. */
export const BUSY = [429, 503];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The simulation is a load generator: it drives an API on this machine and nowhere else. */
export function loopbackBase(url: string): string {
  const u = URL.canParse(url) ? new URL(url) : undefined;
  const loopback = u && u.protocol === 'http:' && (LOOPBACK.has(u.hostname) || /^127\.\d+\.\d+\.\d+$/.test(u.hostname));
  if (!loopback) throw new Error(`the city simulation drives a loopback API only (http://127.0.0.1:…, localhost or [::1]); got "${url}"`);
  return u.origin;
}

/** The last segment of a problem's `type`, which says what kind of refusal it was. */
const problemKind = (body: unknown) => {
  const type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? ` ${type.split('/').pop()}` : '';
};

/**
 * The city's HTTP side of the public API, as its clients use it: JSON requests with bearer tokens,
 * on one keep-alive pool of its own (closed with the city), each bound by a deadline. Every request
 * is counted; an answer nobody expected, or none at all, is counted as an error of its kind.
 */
export class CityApi {
  readonly base: string;
  readonly #agent = new Agent({ keepAliveTimeout: 10_000 });
  readonly #tally: Tally;
  readonly #clock: CityClock;

  constructor(baseUrl: string, tally: Tally, clock: CityClock) {
    this.base = loopbackBase(baseUrl);
    this.#tally = tally;
    this.#clock = clock;
  }

  async call<T>(op: string, method: 'GET' | 'POST' | 'PATCH', path: string, opts: CallOptions = {}): Promise<Answer<T> | undefined> {
    if (!opts.retry) return this.#once(op, method, path, opts);
    const busy = { ...opts, expected: [...(opts.expected ?? []), ...BUSY] };
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#once<T>(op, method, path, attempt < RETRIES ? busy : opts);
      if (!answer || !BUSY.includes(answer.status) || attempt === RETRIES) return answer;
      this.#tally.add('retried');
      if (!(await this.#clock.sleepWall(answer.retryAfterMs ?? 1_000 * attempt))) return undefined;
    }
  }

  async #once<T>(op: string, method: 'GET' | 'POST' | 'PATCH', path: string, opts: CallOptions): Promise<Answer<T> | undefined> {
    const signal = opts.signal ?? this.#clock.signal;
    if (signal.aborted) return undefined;
    this.#tally.add('requests');
    try {
      const res = await request(`${this.base}${path}`, {
        dispatcher: this.#agent,
        method,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...opts.headers,
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      const text = await res.body.text();
      const body = (text && String(res.headers['content-type']).includes('json') ? JSON.parse(text) : undefined) as T;
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      if (!ok && !opts.expected?.includes(res.statusCode)) this.#tally.error(`${op}: ${res.statusCode}${problemKind(body)}`);
      const retryAfter = Number(res.headers['retry-after']);
      return { status: res.statusCode, body, ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1_000 } : {}) };
    } catch (err) {
      if (!signal.aborted) this.#tally.error(`${op}: ${(err as { code?: string }).code ?? (err as Error).name}`);
      return undefined;
    }
  }

  /**
   * Signs in, waiting out the API's login rate limit (429 + Retry-After) as a patient person would, for
   * as long as it takes: against an API with the default limit of 10 a minute per address, the city's
   * ~90 people take about nine minutes to sign in.
   */
  async signIn(email: string, password: string): Promise<Session | undefined> {
    for (;;) {
      const answer = await this.call<{ token: string; user: { id: string } }>('sign in', 'POST', '/v1/auth/login', { body: { email, password }, retry: true, expected: [429] });
      if (answer?.status === 200) return { id: answer.body.user.id, email, token: answer.body.token };
      if (answer?.status !== 429) return undefined;
      this.#tally.add('retried');
      if (!(await this.#clock.sleepWall(answer.retryAfterMs ?? 5_000))) return undefined;
    }
  }

  /**
   * What an EventSource fetches with: this pool, and a fresh stream ticket (`?ticket=`, as a browser's
   * EventSource must) for every connection and reconnection, since a ticket lives only seconds.
   */
  streamFetch(token: string): FetchLike {
    return async (url, init) => {
      const answer = await this.call<{ ticket: string }>('stream ticket', 'POST', '/v1/auth/stream-ticket', { token, retry: true });
      if (answer?.status !== 200) throw new Error('no stream ticket');
      const withTicket = new URL(url);
      withTicket.searchParams.set('ticket', answer.body.ticket);
      this.#tally.add('requests');
      return fetch(withTicket, { ...init, dispatcher: this.#agent });
    };
  }

  wsUrl(path: string) {
    return `${this.base.replace(/^http/, 'ws')}${path}`;
  }

  /** Ends every connection of the pool, streams included. */
  close() {
    return this.#agent.destroy();
  }
}
