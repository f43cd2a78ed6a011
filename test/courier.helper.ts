import WebSocket from 'ws';
import type { BusChannels, Channel } from '../src/live/bus-messages.ts';
import type { EventBus } from '../src/live/event-bus.ts';

// biome-ignore lint/suspicious/noExplicitAny: messages are checked field by field in the tests
type Message = Record<string, any>;

/** A real `ws` client that keeps every message it gets, so a test can wait for the one it expects. */
export class TestSocket {
  readonly ws: WebSocket;
  readonly messages: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)));
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** Opens a socket; rejects with the HTTP status when the server refuses the upgrade. */
  static open(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const socket = new TestSocket(ws);
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => reject(Object.assign(new Error(`refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  send(message: Message | string | Buffer, opts: { binary?: boolean } = {}) {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message), opts);
  }

  /** The first message (from `from` on) matching `match`; waits for it up to `timeoutMs`. */
  async next(match: string | ((m: Message) => boolean), opts: { from?: number; timeoutMs?: number } = {}): Promise<Message> {
    const test = typeof match === 'string' ? (m: Message) => m.type === match : match;
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      const found = this.messages.slice(opts.from ?? 0).find(test);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a message and returns the next reply matching `match` after it. */
  async ask(message: Message | string | Buffer, match: string | ((m: Message) => boolean), opts: { binary?: boolean } = {}) {
    const from = this.messages.length;
    this.send(message, opts);
    return this.next(match, { from });
  }

  /** How the server closed the socket; fails the test when it does not within `timeoutMs`. */
  closedBy(timeoutMs = 10_000) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the socket is still open after ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  close() {
    this.ws.close();
    return this.closedBy();
  }
}

/** Every message published on a channel of the app's bus from now on. */
export function listen<C extends Channel>(bus: EventBus, channel: C): BusChannels[C][] {
  const heard: BusChannels[C][] = [];
  bus.subscribe(channel, (m) => heard.push(m));
  return heard;
}
