import { EventSource } from 'eventsource';
import { BUSY, type CityApi } from './api-client.ts';
import type { CityClock } from './clock.ts';
import type { Tally } from './report.ts';

// biome-ignore lint/suspicious/noExplicitAny: each event's data is read by the handler that knows its shape
export type EventHandlers = Record<string, (data: any) => void>;

/** How long a stream the server refused (a 503 while it sheds load, say) waits before opening again. */
const REOPEN_MS = 2_000;

/**
 * One of the API's Server-Sent Events streams, read as an app would: the `eventsource` client (which
 * reconnects with Last-Event-ID after a drop), a fresh stream ticket per connection, and — when the
 * server refuses a connection outright, which ends an EventSource for good — a new one a little later
 * that resumes after the last event seen. A 204 (nothing more will come, e.g. a delivered order) ends it.
 */
export class LiveStream {
  readonly #deps: { api: CityApi; clock: CityClock; tally: Tally };
  readonly #path: string;
  readonly #token: string;
  readonly #handlers: EventHandlers;
  readonly #op: string;
  #source: EventSource | undefined;
  #lastEventId: string | undefined;
  #closed = false;

  constructor(deps: { api: CityApi; clock: CityClock; tally: Tally }, op: string, path: string, token: string, handlers: EventHandlers) {
    this.#deps = deps;
    this.#op = op;
    this.#path = path;
    this.#token = token;
    this.#handlers = handlers;
    this.#open();
  }

  #open() {
    if (this.#closed || this.#deps.clock.signal.aborted) return;
    const url = new URL(this.#path, this.#deps.api.base);
    if (this.#lastEventId !== undefined) url.searchParams.set('last_event_id', this.#lastEventId);
    const source = new EventSource(url, { fetch: this.#deps.api.streamFetch(this.#token) });
    this.#source = source;
    for (const [event, handle] of Object.entries(this.#handlers)) {
      source.addEventListener(event, (message) => {
        if (message.lastEventId) this.#lastEventId = message.lastEventId;
        if (!this.#closed) handle(JSON.parse(message.data));
      });
    }
    source.addEventListener('error', (err) => {
      if (this.#closed || source.readyState !== EventSource.CLOSED) return;
      if (err.code === 204) return this.close();
      if (err.code !== undefined && BUSY.includes(err.code)) this.#deps.tally.add('retried');
      else this.#deps.tally.error(`${this.#op}: ${err.code ?? 'closed'}`);
      this.#deps.clock.afterWall(REOPEN_MS, () => this.#open());
    });
  }

  close() {
    this.#closed = true;
    this.#source?.close();
  }
}
