import { api, isUnauthorized } from './api.ts';
import type { ClientMessage, ServerMessage } from './types.ts';

export type LinkState = 'connecting' | 'open' | 'retrying' | 'ended' | 'signed-out' | 'replaced';

/** Waits between attempts: 0.5 s doubling to 10 s, with jitter so many tabs do not reconnect at once. */
const backoff = (attempt: number) => Math.min(10_000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);

const ticket = (path: string, token: string) => api<{ ticket: string }>(path, { method: 'POST', token }).then((t) => t.ticket);

export interface StreamOptions {
  /** e.g. `/v1/orders/<id>/track` */
  path: string;
  token: string;
  /** Handlers by event name; `id` is the last status event's id received so far. */
  on: Record<string, (data: unknown, id: string) => void>;
  /** Resume after this status event (Last-Event-ID); absent, the stream starts from its beginning. */
  lastEventId?: string;
  /** True once nothing more will come (a final status): the stream then ends instead of reconnecting. */
  finished?: () => boolean;
  onState?: (state: LinkState) => void;
}

/** What a link does each time it connects: open its connection with a fresh ticket, and say how it went. */
interface Link {
  connect(ticket: string, events: { opened(): void; dropped(delayMs?: number): void }): void;
  disconnect(): void;
}

/**
 * Keeps a link connected: a fresh ticket for each connection (tickets live 30 s, and neither an
 * EventSource nor a WebSocket can send a bearer header), reconnecting after a drop with jittered
 * backoff, until closed or signed out.
 */
function keepConnected(ticketPath: string, token: string, onState: ((s: LinkState) => void) | undefined, link: Link) {
  let timer: number | undefined;
  let attempt = 0;
  let closed = false;
  const state = (s: LinkState) => onState?.(s);
  const retry = (delay = backoff(attempt++)) => {
    if (closed) return;
    state('retrying');
    timer = window.setTimeout(connect, delay);
  };
  async function connect() {
    if (closed) return;
    state('connecting');
    let t: string;
    try {
      t = await ticket(ticketPath, token);
    } catch (err) {
      if (isUnauthorized(err)) state('signed-out');
      else retry();
      return;
    }
    if (closed) return;
    link.connect(t, {
      opened: () => {
        attempt = 0;
        state('open');
      },
      dropped: (delayMs) => retry(delayMs),
    });
  }
  void connect();
  return {
    get closed() {
      return closed;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      link.disconnect();
    },
  };
}

/**
 * A Server-Sent Events stream that survives drops. Since EventSource's own reconnect would reuse an
 * expired ticket, this reconnects itself, with the last status event's id as `last_event_id`, so the
 * server sends exactly what came after it.
 */
export function openStream(opts: StreamOptions): { close(): void } {
  let lastId = opts.lastEventId;
  let source: EventSource | undefined;
  return keepConnected('/v1/auth/stream-ticket', opts.token, opts.onState, {
    connect(t, { opened, dropped }) {
      const url = new URL(opts.path, location.origin);
      url.searchParams.set('ticket', t);
      if (lastId) url.searchParams.set('last_event_id', lastId);
      const es = new EventSource(url);
      source = es;
      es.onopen = opened;
      for (const [name, handle] of Object.entries(opts.on)) {
        es.addEventListener(name, (ev) => {
          const m = ev as MessageEvent<string>;
          if (m.lastEventId) lastId = m.lastEventId;
          handle(JSON.parse(m.data), m.lastEventId);
        });
      }
      // The node is shutting down: reconnect at once, through the balancer, to another.
      es.addEventListener('reconnect', () => {
        es.close();
        dropped(0);
      });
      es.onerror = () => {
        es.close();
        if (opts.finished?.()) opts.onState?.('ended');
        else dropped();
      };
    },
    disconnect: () => source?.close(),
  });
}

export interface SocketOptions {
  token: string;
  onMessage: (message: ServerMessage) => void;
  onState?: (state: LinkState) => void;
}

/** Close codes after which reconnecting is wrong: another tab of the same courier took over. */
const REPLACED = 4000;

/**
 * The courier's WebSocket, reconnecting after drops with a fresh ticket. A close with 1012 (the node
 * is restarting) reconnects at once.
 */
export function openCourierSocket(opts: SocketOptions): { send(message: ClientMessage): boolean; close(): void } {
  let socket: WebSocket | undefined;
  const link = keepConnected('/v1/courier/stream-ticket', opts.token, opts.onState, {
    connect(t, { opened, dropped }) {
      const url = new URL('/v1/courier/stream', location.origin);
      url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('ticket', t);
      const ws = new WebSocket(url);
      socket = ws;
      ws.onopen = opened;
      ws.onmessage = (ev) => {
        if (typeof ev.data === 'string') opts.onMessage(JSON.parse(ev.data) as ServerMessage);
      };
      ws.onclose = (ev) => {
        if (socket !== ws || link.closed) return;
        socket = undefined;
        if (ev.code === REPLACED) opts.onState?.('replaced');
        else dropped(ev.code === 1012 ? 0 : undefined);
      };
    },
    disconnect: () => socket?.close(1000),
  });
  return {
    send(message) {
      if (socket?.readyState !== WebSocket.OPEN) return false;
      socket.send(JSON.stringify(message));
      return true;
    },
    close: () => link.close(),
  };
}
