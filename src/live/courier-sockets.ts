import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Principal } from '../domain/identity.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { AuthService } from '../services/auth.service.ts';
import type { CourierService } from '../services/courier.service.ts';
import type { OrderService } from '../services/order.service.ts';
import type { BusChannels } from './bus-messages.ts';
import { CLOSE, type ErrorMessage } from './courier-messages.ts';
import { CourierConnection, KIND } from './courier-socket.ts';
import type { EventBus } from './event-bus.ts';

type Offer = BusChannels['dispatch.offer'];

/** After the shutdown close frames, how long a peer has to answer before its socket is cut. */
const CLOSE_GRACE_MS = 2_000;

export interface CourierSocketsDeps {
  bus: EventBus;
  auth: Pick<AuthService, 'revokedAmong'>;
  couriers: Pick<CourierService, 'report' | 'isOnShift'>;
  orders: Pick<OrderService, 'transition'>;
  heartbeatMs: number;
  maxBufferBytes: number;
  metrics?: Pick<Metrics, 'liveMessagesSent' | 'liveMessagesDropped' | 'liveDisconnects' | 'liveSources'>;
  log: FastifyBaseLogger;
}

/**
 * This node's courier sockets, one per courier (a newer connection replaces an older one). The node
 * listens once to offers, closed offers and shift changes on the bus and hands each to the socket of
 * its courier, if that socket is here. The open offer of every courier is remembered (it is small), so
 * an answer is relayed only for the offer made to the courier answering, whichever node they reconnect to.
 */
export class CourierSockets {
  readonly #deps: CourierSocketsDeps;
  readonly #connections = new Map<string, CourierConnection>();
  readonly #offers = new Map<string, Offer>();
  #unsubscribe: (() => void)[] = [];
  #heartbeat: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  #closing = false;

  constructor(deps: CourierSocketsDeps) {
    this.#deps = deps;
  }

  start() {
    const { bus, metrics, heartbeatMs } = this.#deps;
    this.#unsubscribe = [
      bus.subscribe('dispatch.offer', (m) => this.#onOffer(m)),
      bus.subscribe('dispatch.offer_closed', (m) => {
        if (this.#offers.get(m.courier_id)?.offer_id === m.offer_id) this.#offers.delete(m.courier_id);
        this.#connections.get(m.courier_id)?.send({ type: 'offer_closed', offer_id: m.offer_id, order_id: m.order_id, outcome: m.outcome });
      }),
      bus.subscribe('courier.shift', (m) => {
        if (!m.on_shift) this.#offers.delete(m.courier_id);
        this.#connections.get(m.courier_id)?.send({ type: 'shift', on_shift: m.on_shift });
      }),
      bus.subscribe('account.signed_out', (m) => this.#connections.get(m.user_id)?.close(CLOSE.signedOut, 'signed_out')),
    ];
    this.#heartbeat = setInterval(() => this.#beat(), heartbeatMs).unref();
    if (metrics) {
      // Other kinds of live connection report through the same sources: add to them, never replace them.
      const sources = metrics.liveSources;
      const { connections, bufferHighWater } = sources;
      sources.connections = () => ({ ...connections?.(), [KIND]: this.#connections.size });
      sources.bufferHighWater = () => ({ ...bufferHighWater?.(), [KIND]: this.#takeHighWater() });
    }
  }

  get size() {
    return this.#connections.size;
  }

  /** Takes a courier's new socket: listens at once, replaces their older socket, then greets and re-sends any open offer. */
  async attach(ws: WebSocket, principal: Principal) {
    const { log } = this.#deps;
    let greeted!: () => void;
    const connection = new CourierConnection(ws, principal, { ...this.#deps, answer: (c, o, a) => this.#answer(c, o, a) }, new Promise((r) => (greeted = r)));
    if (this.#closing) {
      connection.close(CLOSE.restart, 'shutdown');
      return;
    }
    const older = this.#connections.get(principal.id);
    this.#connections.set(principal.id, connection);
    connection.onClose(() => {
      if (this.#connections.get(principal.id) === connection) this.#connections.delete(principal.id);
    });
    older?.close(CLOSE.replaced, 'replaced');
    try {
      connection.send({ type: 'hello', courier_id: principal.id, on_shift: await this.#deps.couriers.isOnShift(principal.id) });
      const offer = this.#offers.get(principal.id);
      if (offer && offer.expires_at > Date.now()) connection.send(toMessage(offer));
    } catch (err) {
      log.error({ err, courier: principal.id }, 'greeting a courier socket failed');
      connection.close(CLOSE.internal, 'error');
    } finally {
      greeted();
    }
  }

  /** Tells every courier to reconnect elsewhere (1012), and cuts the sockets that do not close in time. */
  closeAll() {
    this.#closing = true;
    const connections = [...this.#connections.values()];
    for (const c of connections) c.close(CLOSE.restart, 'shutdown');
    if (connections.length === 0) return;
    setTimeout(() => {
      for (const c of connections) c.terminate();
    }, CLOSE_GRACE_MS).unref();
  }

  async close() {
    this.closeAll();
    clearInterval(this.#heartbeat);
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    await this.#checking;
  }

  #onOffer(offer: Offer) {
    if (this.#offers.size > 2 * this.#connections.size + 1_000) {
      const now = Date.now();
      for (const [id, o] of this.#offers) if (o.expires_at <= now) this.#offers.delete(id);
    }
    this.#offers.set(offer.courier_id, offer);
    this.#connections.get(offer.courier_id)?.send(toMessage(offer));
  }

  #answer(courierId: string, offerId: string, accept: boolean): ErrorMessage | undefined {
    const offer = this.#offers.get(courierId);
    if (!offer || offer.offer_id !== offerId || offer.expires_at <= Date.now()) {
      return { type: 'error', code: 'unknown_offer', detail: 'No such offer is open for you.', ref: offerId };
    }
    this.#offers.delete(courierId);
    this.#deps.bus.publish('dispatch.answer', { offer_id: offerId, courier_id: courierId, zone: offer.zone, accept });
    return undefined;
  }

  #beat() {
    for (const c of this.#connections.values()) c.heartbeat();
    this.#checking ??= this.#recheck().finally(() => {
      this.#checking = undefined;
    });
  }

  /**
   * Ends the sockets of couriers whose sign-in no longer holds. A logout on any node reaches the socket
   * at once through the bus; this catches what the bus lost (it is at-most-once) and what changed
   * without a logout (a role taken away, an account deleted), within one heartbeat. A failed check
   * keeps every socket: the database being down is not a reason to drop couriers.
   */
  async #recheck() {
    const connections = [...this.#connections.values()];
    if (connections.length === 0) return;
    try {
      const revoked = await this.#deps.auth.revokedAmong(connections.map((c) => c.principal));
      for (const c of connections) if (revoked.has(c.courierId)) c.close(CLOSE.signedOut, 'signed_out');
    } catch (err) {
      this.#deps.log.warn({ err }, 'checking courier sockets\' sign-ins failed; checked again at the next heartbeat');
    }
  }

  /** The largest outgoing buffer of any socket since the last call. */
  #takeHighWater() {
    let highWater = 0;
    for (const c of this.#connections.values()) {
      highWater = Math.max(highWater, c.highWater);
      c.highWater = 0;
    }
    return highWater;
  }
}

function toMessage(offer: Offer) {
  const { offer_id, order_id, pickup, dropoff, pickup_km, delivery_km, expires_at } = offer;
  return { type: 'offer' as const, offer_id, order_id, pickup, dropoff, pickup_km, delivery_km, expires_at };
}
