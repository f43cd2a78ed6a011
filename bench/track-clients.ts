/**
 * The track scenario's clients, made to be cheap so one process can play thousands: an SSE watcher on
 * a bare http request that parses only what it counts, and a courier on a `ws` socket that rides in a
 * straight line and reports its position every second.
 */
import http from 'node:http';
import WebSocket from 'ws';
import { offset } from '../src/domain/geo.ts';

const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

export interface WatcherStats {
  /** Status event ids received, in order of arrival (duplicates kept: they are counted). */
  statusIds: number[];
  positions: number;
  reconnects: number;
  /** Connection attempts answered 503 (load shedding) and tried again. */
  refused: number;
}

/** One `GET /v1/orders/:id/track`; reconnects with Last-Event-ID as a browser's EventSource would. */
export class Watcher {
  readonly stats: WatcherStats = { statusIds: [], positions: 0, reconnects: 0, refused: 0 };
  readonly #url: URL;
  readonly #token: string;
  readonly #onPosition: (latencyMs: number) => void;
  #lastEventId: string | undefined;
  #req: http.ClientRequest | undefined;
  #closed = false;

  constructor(base: string, orderId: string, token: string, onPosition: (latencyMs: number) => void) {
    this.#url = new URL(`/v1/orders/${orderId}/track`, base);
    this.#token = token;
    this.#onPosition = onPosition;
  }

  /** Resolves once the stream's headers arrived (200); a 503 is tried again after its Retry-After, as a browser's EventSource would. */
  async connect(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const retryAfterS = await this.#open();
      if (retryAfterS === undefined) return;
      if (attempt >= 10) throw new Error('track answered 503 ten times');
      this.stats.refused++;
      await new Promise((r) => setTimeout(r, retryAfterS * 1_000));
    }
  }

  /** Undefined once open; the Retry-After seconds of a 503. */
  #open(): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: 'text/event-stream' };
      if (this.#lastEventId) headers['last-event-id'] = this.#lastEventId;
      const req = http.get(this.#url, { agent, headers }, (res) => {
        if (res.statusCode === 503) {
          res.resume();
          resolve(Number(res.headers['retry-after'] ?? 1));
          return;
        }
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`track answered ${res.statusCode}`));
          return;
        }
        resolve(undefined);
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            this.#onBlock(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            end = buffer.indexOf('\n\n');
          }
        });
        res.on('close', () => this.#reconnect());
      });
      req.on('error', reject);
      this.#req = req;
    });
  }

  #onBlock(block: string) {
    let event = 'message';
    let data = '';
    let id: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
      else if (line.startsWith('id:')) id = line.slice(3).trim();
    }
    if (id !== undefined) this.#lastEventId = id;
    if (event === 'status' && id !== undefined) this.stats.statusIds.push(Number(id));
    else if (event === 'position') {
      this.stats.positions++;
      const at = (JSON.parse(data) as { at: number | string }).at;
      this.#onPosition(Date.now() - (typeof at === 'number' ? at : Date.parse(at)));
    }
  }

  #reconnect() {
    if (this.#closed) return;
    this.stats.reconnects++;
    setTimeout(() => this.connect().catch(() => this.#reconnect()), 1_000).unref();
  }

  close() {
    this.#closed = true;
    this.#req?.destroy();
  }
}

/** A courier on its socket, riding at ~18 km/h on a fixed bearing, one fix a second. */
export class Courier {
  readonly #ws: WebSocket;
  #position: { lat: number; lng: number };
  readonly #bearing: number;
  #timer: NodeJS.Timeout | undefined;
  sent = 0;
  errors = 0;

  constructor(base: string, token: string, start: { lat: number; lng: number }, bearing: number) {
    this.#position = start;
    this.#bearing = bearing;
    this.#ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/courier/stream`, { headers: { authorization: `Bearer ${token}` } });
    this.#ws.on('message', (raw) => {
      if ((JSON.parse(String(raw)) as { type: string }).type === 'error') this.errors++;
    });
    this.#ws.on('error', () => this.errors++);
  }

  opened(): Promise<void> {
    if (this.#ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#ws.once('open', () => resolve());
      this.#ws.once('error', reject);
    });
  }

  /** Starts reporting after `phaseMs`, so a thousand couriers spread their fixes over the second. */
  ride(phaseMs: number) {
    this.#timer = setTimeout(() => {
      this.#report();
      this.#timer = setInterval(() => this.#report(), 1_000);
    }, phaseMs);
  }

  #report() {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#position = offset(this.#position, this.#bearing, 0.005);
    this.#ws.send(JSON.stringify({ type: 'position', ...this.#position, at: Date.now() }));
    this.sent++;
  }

  close() {
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
    this.#ws.close();
  }
}
