import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a fake partner was sent. */
export interface Received {
  method: string;
  path: string;
  body: unknown;
}

/**
 * A status and a body (an object is sent as JSON, a string as it is), `hang`: never answer, or
 * `stall`: a 200 whose body starts and never ends.
 */
export type Answer = { status: number; body: unknown } | 'hang' | 'stall';

/**
 * A partner over real HTTP on loopback that answers whatever the test says, after `delayMs`, and
 * remembers what it was sent and how many calls it held at once: for answers the simulators will not
 * give (malformed ones) and for checking what dabba sends.
 */
export class FakePartner {
  readonly received: Received[] = [];
  answer: (req: Received) => Answer = () => ({ status: 404, body: { error: 'not found' } });
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  readonly #server = createServer((req, res) => void this.#handle(req, res));
  url = '';

  async start() {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async #handle(req: IncomingMessage, res: ServerResponse) {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    res.once('close', () => this.inFlight--);
    let text = '';
    for await (const chunk of req) text += chunk;
    const received = { method: req.method ?? '', path: req.url ?? '', body: text ? JSON.parse(text) : undefined };
    this.received.push(received);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const answer = this.answer(received);
    if (answer === 'hang') return;
    if (answer === 'stall') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"minutes":');
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  }

  close() {
    this.#server.closeAllConnections();
    return new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
