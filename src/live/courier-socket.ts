import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Principal } from '../domain/identity.ts';
import { AppError } from '../errors.ts';
import type { Metrics } from '../ops/metrics.ts';
import { isRefusal } from '../services/courier-positions.ts';
import type { CourierService } from '../services/courier.service.ts';
import type { OrderService } from '../services/order.service.ts';
import { CLOSE, type ClientMessage, type ErrorCode, type ErrorMessage, type ServerMessage, parseClientMessage } from './courier-messages.ts';

export const KIND = 'courier_socket';

/**
 * Messages a courier may have waiting or being handled at once (a burst of positions after a reconnect
 * arrives in one read); more are refused, not queued, so a socket holds at most this many small messages.
 */
const MAX_IN_FLIGHT = 32;
/** Malformed messages tolerated per window before the socket is closed (1008): a confused client gets answers, a flood does not. */
const MAX_STRIKES = 20;
const STRIKE_WINDOW_MS = 10_000;

export interface ConnectionDeps {
  couriers: Pick<CourierService, 'report'>;
  orders: Pick<OrderService, 'transition'>;
  /** Relays the courier's answer to their open offer; an error when the offer is not theirs or not open. */
  answer(courierId: string, offerId: string, accept: boolean): ErrorMessage | undefined;
  maxBufferBytes: number;
  metrics?: Pick<Metrics, 'liveMessagesSent' | 'liveMessagesDropped' | 'liveDisconnects'>;
  log: FastifyBaseLogger;
}

const STATUS_CODES: Record<number, ErrorCode> = { 403: 'forbidden', 404: 'not_found', 409: 'conflict' };
const asBuffer = (data: RawData) => (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));

/**
 * One courier's socket: reads their messages in order of arrival (checked against the schemas, each
 * malformed one answered with an error), writes to them through a bounded buffer (a reader too slow
 * for LIVE_MAX_BUFFER_BYTES is disconnected rather than buffered without end), and answers the
 * server's pings so a dead peer is noticed.
 */
export class CourierConnection {
  readonly principal: Principal;
  /** Cleared before each ping; a pong or any message sets it again. */
  alive = true;
  /** The largest outgoing buffer seen since the metrics last asked. */
  highWater = 0;
  readonly #ws: WebSocket;
  readonly #deps: ConnectionDeps;
  #ready: Promise<void>;
  #inFlight = 0;
  #strikes = 0;
  #strikesSince = 0;

  /** Listens at once (messages sent before `ready` are held, not lost); `ready` resolves when the greeting is sent. */
  constructor(ws: WebSocket, principal: Principal, deps: ConnectionDeps, ready: Promise<void>) {
    this.#ws = ws;
    this.principal = principal;
    this.#deps = deps;
    this.#ready = ready;
    ws.on('message', (data, isBinary) => this.#onMessage(asBuffer(data), isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
  }

  get courierId() {
    return this.principal.id;
  }

  get open() {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  onClose(listener: () => void) {
    this.#ws.once('close', listener);
  }

  /** Writes a message unless the peer has stopped reading, in which case the socket is closed instead. */
  send(message: ServerMessage): boolean {
    if (!this.open) return false;
    const queued = this.#ws.bufferedAmount;
    if (queued > this.#deps.maxBufferBytes) {
      this.close(CLOSE.slowConsumer, 'slow_consumer');
      return false;
    }
    this.highWater = Math.max(this.highWater, queued);
    this.#ws.send(JSON.stringify(message));
    this.#deps.metrics?.liveMessagesSent.inc({ kind: KIND, type: message.type });
    return true;
  }

  close(close: { code: number; reason: string }, why: string) {
    if (this.#ws.readyState === this.#ws.CLOSING || this.#ws.readyState === this.#ws.CLOSED) return;
    this.#deps.metrics?.liveDisconnects.inc({ kind: KIND, reason: why });
    this.#ws.close(close.code, close.reason);
  }

  /** Ends a socket that never answered the last ping; pings it otherwise. Returns whether it is still there. */
  heartbeat(): boolean {
    if (!this.alive) {
      this.#deps.metrics?.liveDisconnects.inc({ kind: KIND, reason: 'dead_peer' });
      this.#ws.terminate();
      return false;
    }
    this.alive = false;
    if (this.open) this.#ws.ping();
    return true;
  }

  terminate() {
    this.#ws.terminate();
  }

  #onMessage(data: Buffer, isBinary: boolean) {
    this.alive = true;
    const parsed = parseClientMessage(data, isBinary);
    if (!parsed.ok) {
      this.#deps.metrics?.liveMessagesDropped.inc({ kind: KIND, reason: 'invalid' });
      this.send(parsed.error);
      this.#strike();
      return;
    }
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      this.send({ type: 'error', code: 'overloaded', detail: `At most ${MAX_IN_FLIGHT} messages are handled at once; wait for answers.` });
      return;
    }
    this.#inFlight++;
    // Chained on the previous message: a courier's messages are handled in the order they were sent.
    this.#ready = this.#ready
      .then(() => this.#handle(parsed.message))
      .then((reply) => {
        if (reply) this.send(reply);
      })
      .catch((err: unknown) => {
        this.send(this.#failure(err, parsed.message));
      })
      .finally(() => {
        this.#inFlight--;
      });
  }

  async #handle(message: ClientMessage): Promise<ServerMessage | undefined> {
    switch (message.type) {
      case 'ping':
        return { type: 'pong' };
      case 'position': {
        const verdict = await this.#deps.couriers.report(this.courierId, { lat: message.lat, lng: message.lng, at: message.at });
        if (!isRefusal(verdict)) return undefined;
        return { type: 'error', code: verdict.outcome === 'invalid' ? 'invalid_position' : verdict.outcome, detail: verdict.detail };
      }
      case 'accept':
      case 'decline':
        return this.#deps.answer(this.courierId, message.offer_id, message.type === 'accept');
      case 'move':
        return { type: 'moved', order: await this.#deps.orders.transition(this.principal, message.order_id, message.to) };
    }
  }

  /** A service's refusal as the courier sees it; anything else is logged and answered without its details. */
  #failure(err: unknown, message: ClientMessage): ErrorMessage {
    const ref = message.type === 'move' ? message.order_id : undefined;
    const code = err instanceof AppError ? STATUS_CODES[err.status] : undefined;
    if (err instanceof AppError && code) return { type: 'error', code, detail: err.message, ...(ref ? { ref } : {}) };
    this.#deps.log.error({ err, courier: this.courierId, message: message.type }, 'a courier socket message failed');
    return { type: 'error', code: 'internal', detail: 'The message could not be handled; try again.', ...(ref ? { ref } : {}) };
  }

  #strike() {
    const now = Date.now();
    if (now - this.#strikesSince > STRIKE_WINDOW_MS) {
      this.#strikes = 0;
      this.#strikesSince = now;
    }
    if (++this.#strikes > MAX_STRIKES) this.close(CLOSE.abuse, 'abuse');
  }
}
