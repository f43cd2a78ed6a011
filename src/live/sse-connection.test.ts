import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { type EndReason, SseConnection, type SseObserver, sseFrame } from './sse-connection.ts';

const SETTINGS = { retryMs: 500, heartbeatMs: 60_000, maxBufferBytes: 64 * 1024 };

/** Records what the connection reports. */
function observer() {
  const seen = { sent: [] as string[], coalesced: 0, highWater: 0, ended: [] as EndReason[] };
  const o: SseObserver = {
    sent: (_k, type) => void seen.sent.push(type),
    coalesced: () => void seen.coalesced++,
    buffered: (_k, bytes) => {
      seen.highWater = Math.max(seen.highWater, bytes);
    },
    ended: (_k, reason) => void seen.ended.push(reason),
  };
  return { o, seen };
}

/** A server whose every request becomes an SSE connection handed to `onOpen`. */
async function serve(onOpen: (conn: SseConnection) => void, watch = observer()) {
  const server = http.createServer((req, res) => {
    const reply = { hijack() {}, raw: res, request: { raw: req } };
    onOpen(new SseConnection(reply, 'order_track', SETTINGS, watch.o));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, ...watch };
}

/** A client that sends its request and reads nothing until told. */
async function stalledClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  socket.pause();
  socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  return socket;
}

const until = async (what: string, check: () => boolean) => {
  for (const deadline = Date.now() + 10_000; !check(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
};

describe('SSE frames', () => {
  it('puts an id only where given, and keeps data on one line', () => {
    assert.equal(sseFrame('status', { a: 'two\nlines' }, 42), 'id: 42\nevent: status\ndata: {"a":"two\\nlines"}\n\n');
    assert.equal(sseFrame('position', { lat: 1 }), 'event: position\ndata: {"lat":1}\n\n');
  });
});

describe('an SSE connection', () => {
  it("opens with the stream's headers, the hooks' headers and retry:, and says reconnect on shutdown", async () => {
    let conn!: SseConnection;
    const { port, seen } = await serve((c) => {
      conn = c;
      c.send('status', sseFrame('status', { to: 'placed' }, 1));
    });
    const body = await new Promise<{ headers: http.IncomingHttpHeaders; text: string }>((resolve) => {
      http.get(`http://127.0.0.1:${port}/`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
          if (text.includes('event: status')) conn.reconnect(2_000);
        });
        res.on('end', () => resolve({ headers: res.headers, text }));
      });
    });
    assert.match(String(body.headers['content-type']), /^text\/event-stream/);
    assert.equal(body.headers['cache-control'], 'no-store');
    assert.equal(body.headers['x-accel-buffering'], 'no');
    assert.equal(body.headers['x-content-type-options'], 'nosniff');
    assert.equal(body.text, 'retry: 500\n\nid: 1\nevent: status\ndata: {"to":"placed"}\n\nretry: 2000\nevent: reconnect\ndata: {}\n\n');
    assert.deepEqual(seen.ended, ['shutdown']);
  });

  it('while the socket is backed up keeps only the latest of each coalescible message, and sends it on drain', async () => {
    let conn!: SseConnection;
    const { port, seen } = await serve((c) => (conn = c));
    const client = await stalledClient(port);
    await until('the stream', () => conn !== undefined);
    const filler = `${'x'.repeat(8_000)}`;
    // Coalescible filler until the kernel's buffers are full and Node asks to wait for 'drain'.
    for (let i = 0; !conn.backedUp && i < 10_000; i++) conn.offer(`fill-${i % 2}`, 'fill', sseFrame('fill', filler));
    await until('the socket to back up', () => conn.backedUp);
    const sentBefore = seen.sent.length;
    for (let i = 1; i <= 10; i++) conn.offer('position', 'position', sseFrame('position', { n: i }));
    assert.equal(seen.sent.length, sentBefore, 'nothing written while backed up');
    assert.equal(seen.coalesced, 9);

    let received = '';
    client.setEncoding('utf8');
    client.on('data', (chunk) => (received += chunk));
    client.resume();
    await until('the latest position', () => received.includes('data: {"n":10}'));
    assert.ok(!/data: \{"n":[1-9]\}\n/.test(received), 'older positions were dropped');
    client.destroy();
  });

  it('cuts a reader that falls behind rather than queue status events past the limit', async () => {
    let conn!: SseConnection;
    const { port, seen } = await serve((c) => (conn = c));
    const client = await stalledClient(port);
    await until('the stream', () => conn !== undefined);
    const event = sseFrame('status', { reason: 'y'.repeat(16_000) }, 1);
    let accepted = 0;
    while (await conn.deliver('status', event)) accepted++;
    assert.ok(accepted * event.length > SETTINGS.maxBufferBytes, 'the kernel took its share first');
    assert.deepEqual(seen.ended, ['slow_consumer']);
    assert.ok(seen.highWater <= SETTINGS.maxBufferBytes, `queued ${seen.highWater} bytes`);
    assert.equal(conn.send('status', event), false, 'nothing more is written');
    client.destroy();
  });
});
