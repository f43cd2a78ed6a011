import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventSource } from 'eventsource';
import type { App } from '../src/app.ts';

/** One message of an event stream as a client parses it; `retry` and comment-only blocks are kept too. */
export interface SseMessage {
  event: string;
  data: string;
  id?: string;
  retry?: number;
  comment?: boolean;
}

/** The app listening on a loopback port, so real clients (http, EventSource) can reach it. */
export async function listen(app: App) {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

function parseBlock(block: string): SseMessage {
  const m: SseMessage = { event: 'message', data: '' };
  let comment = true;
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    comment = false;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') m.event = value;
    else if (field === 'data') m.data += m.data ? `\n${value}` : value;
    else if (field === 'id') m.id = value;
    else if (field === 'retry') m.retry = Number(value);
  }
  if (comment) m.comment = true;
  return m;
}

/**
 * A stream read over a bare http request: every block it received, in order, and whether it has ended.
 * For what a browser's EventSource hides: `retry:`, comments, the exact end of the response.
 */
export class RawStream {
  readonly messages: SseMessage[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  body = '';
  ended = false;
  readonly #req: http.ClientRequest;
  readonly #waiters = new Set<() => void>();
  readonly opened: Promise<void>;
  readonly done: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    let opened!: () => void;
    let done!: () => void;
    this.opened = new Promise((r) => (opened = r));
    this.done = new Promise((r) => (done = r));
    this.#req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      this.status = res.statusCode ?? 0;
      this.headers = res.headers;
      opened();
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        this.body += chunk;
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          this.messages.push(parseBlock(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
        }
        this.#notify();
      });
      res.on('close', () => {
        this.ended = true;
        done();
        this.#notify();
      });
    });
    this.#req.on('error', () => {
      this.ended = true;
      opened();
      done();
      this.#notify();
    });
  }

  /** Messages of one event type (comments and `retry`-only blocks are never of a type). */
  of(event: string) {
    return this.messages.filter((m) => !m.comment && m.event === event && m.data !== '');
  }

  /** Waits until `check` holds, failing after `timeoutMs` with what arrived so far. */
  async until(what: string, check: () => boolean, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received:\n${this.body.slice(-2_000)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close() {
    this.#req.destroy();
  }

  #notify() {
    for (const w of this.#waiters) w();
    this.#waiters.clear();
  }
}

/** A browser's EventSource (the `eventsource` package), with a bearer header when given, as a fetch-capable client would send it. */
export function eventSource(url: string, authorization?: string) {
  return new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...(authorization ? { authorization } : {}) } }),
  });
}

/** `event: status` data as the streams send it. */
export interface StatusData {
  order_id: string;
  event_id: number;
  kind: 'status' | 'courier_assigned' | 'courier_unassigned';
  from: string | null;
  to: string;
  courier_id: string | null;
  reason: string | null;
  at: string;
}

export const statuses = (s: RawStream) => s.of('status').map((m) => ({ id: m.id, ...(JSON.parse(m.data) as StatusData) }));
