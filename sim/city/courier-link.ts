import WebSocket from 'ws';
import { COURIER_STREAM_PATH } from '../../src/live/asyncapi.ts';
import { CLOSE, type ClientMessage, type ServerMessage } from '../../src/live/courier-messages.ts';
import { BUSY, type CityApi } from './api-client.ts';
import type { CityClock } from './clock.ts';
import type { Tally } from './report.ts';

/** Real milliseconds before a dropped socket is opened again, and a `move` waits for its answer. */
const RECONNECT_MS = 2_000;
const MOVE_TIMEOUT_MS = 10_000;

/**
 * A courier app's WebSocket (`GET /v1/courier/stream`, the bearer token in the Authorization header):
 * messages as /asyncapi.json describes them, reopened after a drop (the server's restart code 1012
 * included) until the courier closes it, and a `move` answered by its `moved` or `error`.
 */
export class CourierLink {
  readonly #deps: { api: CityApi; clock: CityClock; tally: Tally };
  readonly #token: string;
  readonly #onMessage: (message: ServerMessage) => void;
  readonly #moves = new Map<string, (ok: boolean) => void>();
  #ws: WebSocket | undefined;
  #closed = false;

  constructor(deps: { api: CityApi; clock: CityClock; tally: Tally }, token: string, onMessage: (message: ServerMessage) => void) {
    this.#deps = deps;
    this.#token = token;
    this.#onMessage = onMessage;
    this.#connect();
  }

  send(message: ClientMessage): boolean {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(message));
    this.#deps.tally.add('socket_messages');
    return true;
  }

  /** Moves an order (picked up, delivered) over the socket; true once the server says it moved. */
  move(orderId: string, to: 'picked_up' | 'delivered'): Promise<boolean> {
    this.#moves.get(orderId)?.(false);
    return new Promise((resolve) => {
      const cancel = this.#deps.clock.afterWall(MOVE_TIMEOUT_MS, () => settle(false));
      const settle = (ok: boolean) => {
        cancel();
        if (this.#moves.get(orderId) === settle) this.#moves.delete(orderId);
        resolve(ok);
      };
      this.#moves.set(orderId, settle);
      if (!this.send({ type: 'move', order_id: orderId, to })) settle(false);
    });
  }

  close() {
    this.#closed = true;
    for (const settle of this.#moves.values()) settle(false);
    this.#ws?.close(1000, 'shift over');
  }

  #connect() {
    const { api, clock, tally } = this.#deps;
    if (this.#closed || clock.signal.aborted) return;
    const ws = new WebSocket(api.wsUrl(COURIER_STREAM_PATH), { headers: { authorization: `Bearer ${this.#token}` }, handshakeTimeout: 10_000 });
    this.#ws = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
    });
    ws.on('message', (data) => this.#receive(JSON.parse(String(data)) as ServerMessage));
    ws.on('error', (err) => {
      if (this.#closed) return;
      // Refused before it opened: a busy API (503, 429) is asked again later, like any drop; the close follows.
      const status = Number(/Unexpected server response: (\d+)/.exec(err.message)?.[1]);
      if (BUSY.includes(status)) tally.add('retried');
      else tally.error(`courier socket: ${(err as { code?: string }).code ?? err.message}`);
    });
    ws.on('close', (code) => {
      if (this.#closed) return;
      if (opened && code !== CLOSE.restart.code) tally.error(`courier socket closed: ${code}`);
      clock.afterWall(RECONNECT_MS, () => this.#connect());
    });
  }

  #receive(message: ServerMessage) {
    const { tally } = this.#deps;
    if (message.type === 'moved') this.#moves.get(message.order.id)?.(true);
    if (message.type === 'error') {
      tally.error(`courier socket: ${message.code}`);
      if (message.code === 'glitch' || message.code === 'invalid_position') tally.add('positions_refused');
      if (message.ref) this.#moves.get(message.ref)?.(false);
    }
    this.#onMessage(message);
  }
}
