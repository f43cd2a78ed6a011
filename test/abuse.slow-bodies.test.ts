import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import type { App } from '../src/app.ts';
import { startServer } from '../src/server.ts';
import { createTestDatabase, eventually, testConfig } from './helper.ts';
import { find, parsePrometheus } from './ops.helper.ts';

const LIMIT = 4;
const HEADERS_TIMEOUT_MS = 1_000;
// Long enough for test 1 to sign in (a scrypt hash) on a loaded machine while its tricklers are still sending.
const REQUEST_TIMEOUT_MS = 5_000;
// Node checks the timeouts every 500 ms (app.ts); the rest is a loaded CI machine's slack.
const CUT_SLACK_MS = 1_500;

// The real server (startServer: its timeouts included) on a free port. No partner is called here.
const { url, drop } = await createTestDatabase();
const nowhere = 'http://127.0.0.1:9';
const app: App = await startServer(
  testConfig(url, {
    PORT: '0',
    HOST: '127.0.0.1',
    ADMISSION_MAX_IN_FLIGHT: String(LIMIT),
    ADMISSION_MAX_WAIT_MS: '200',
    REQUEST_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    ...Object.fromEntries(['PAYMENTS', 'POS', 'ETA', 'NOTIFY', 'CATALOG'].map((p) => [`${p}_URL`, `${nowhere}/${p.toLowerCase()}`])),
  }),
  { background: false },
);
const port = (app.server.address() as net.AddressInfo).port;
const base = `http://127.0.0.1:${port}`;
const sockets = new Set<net.Socket>();
after(async () => {
  for (const s of sockets) s.destroy();
  await app.close();
  await drop();
});

interface Trickler {
  socket: net.Socket;
  /** The status line of the server's answer, if any, and when the connection closed (ms after it opened). */
  ended: Promise<{ status?: string; afterMs: number }>;
}

/**
 * A raw connection that sends `head` at once, then one more byte a second: a body that declares 200 bytes
 * (or, with `headers`, a header line that never ends) and would take minutes to arrive.
 */
function trickle(opts: { headers?: boolean } = {}): Trickler {
  const opened = Date.now();
  const socket = net.connect(port, '127.0.0.1');
  sockets.add(socket);
  socket.on('error', () => {});
  socket.write(
    opts.headers
      ? 'POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '
      : 'POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"email":"',
  );
  const drip = setInterval(() => socket.write('a', () => {}), 1_000);
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
  });
  const ended = new Promise<{ status?: string; afterMs: number }>((resolve) =>
    socket.once('close', () => {
      clearInterval(drip);
      resolve({ status: received ? received.split('\r\n')[0] : undefined, afterMs: Date.now() - opened });
    }),
  );
  return { socket, ended };
}

/** Requests the server has read the headers of and not yet answered. */
const inFlight = async () => (await app.metrics.httpInFlight.get()).values[0]?.value ?? 0;

async function admitted(route: string) {
  const res = await fetch(`${base}/metrics`);
  return find(parsePrometheus(await res.text()), 'dabba_http_admitted_in_flight', { route }).reduce((sum, s) => sum + s.value, 0);
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('slow request bodies', () => {
  it('connections trickling login bodies hold no admission slot: others still sign in and read while they trickle', { timeout: 20_000 }, async () => {
    const email = `slow-${randomUUID().slice(0, 8)}@dabba.test`;
    const password = 'correct horse battery';
    const registered = await post('/v1/auth/register', { email, password, name: 'Patient' });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));

    // Twice the route's limit, every one with its headers read and its body still coming.
    const started = Date.now();
    const tricklers = Array.from({ length: 2 * LIMIT }, () => trickle());
    try {
      await eventually('the server to have read every trickler’s headers', async () => (await inFlight()) >= 2 * LIMIT, 5_000);

      const login = await post('/v1/auth/login', { email, password });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const me = await fetch(`${base}/v1/auth/me`, { headers: { authorization: `Bearer ${login.body.token}` }, signal: AbortSignal.timeout(5_000) });
      assert.equal(me.status, 200);
      await me.body?.cancel();
      assert.equal(await admitted('POST /v1/auth/login'), 0, 'a request whose body is still coming holds no slot');
      assert.ok(
        tricklers.every((t) => !t.socket.closed) && Date.now() - started < REQUEST_TIMEOUT_MS,
        'the tricklers were all still sending while the others were served',
      );
    } finally {
      for (const t of tricklers) t.socket.destroy();
      await Promise.all(tricklers.map((t) => t.ended));
    }
  });

  it('cuts a request whose body is not in after REQUEST_TIMEOUT_MS, and one whose headers are not after REQUEST_HEADERS_TIMEOUT_MS, with 408', { timeout: 20_000 }, async () => {
    const body = trickle();
    const headers = trickle({ headers: true });
    // Bounded: a server that never cuts them fails here, not at the test's timeout.
    const limit = new Promise<{ status: string; afterMs: number }>((resolve) => {
      const timer = setTimeout(() => resolve({ status: 'still open', afterMs: Number.POSITIVE_INFINITY }), REQUEST_TIMEOUT_MS + CUT_SLACK_MS + 500);
      timer.unref();
    });
    const [bodyEnd, headersEnd] = await Promise.all([Promise.race([body.ended, limit]), Promise.race([headers.ended, limit])]);
    body.socket.destroy();
    headers.socket.destroy();

    assert.equal(bodyEnd.status, 'HTTP/1.1 408 Request Timeout');
    assert.ok(bodyEnd.afterMs >= REQUEST_TIMEOUT_MS - 100 && bodyEnd.afterMs <= REQUEST_TIMEOUT_MS + CUT_SLACK_MS, `body trickler cut after ${bodyEnd.afterMs} ms`);
    assert.equal(headersEnd.status, 'HTTP/1.1 408 Request Timeout');
    assert.ok(headersEnd.afterMs >= HEADERS_TIMEOUT_MS - 100 && headersEnd.afterMs <= HEADERS_TIMEOUT_MS + CUT_SLACK_MS, `header trickler cut after ${headersEnd.afterMs} ms`);
    await eventually('no request left in flight', async () => (await inFlight()) === 0, 5_000);
  });
});
