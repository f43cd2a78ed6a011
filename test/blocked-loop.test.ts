import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type App, build } from '../src/app.ts';
import { type Sim, createTestDatabase, partnerEnv, startSim, testConfig } from './helper.ts';
import { LogCollector, sleep } from './ops.helper.ts';

const BLOCK_MS = 250;

/** An app with one extra route that holds the event loop for BLOCK_MS in its synchronous part. */
async function appWithBlockingRoute(sim: Sim, env: Record<string, string>) {
  const { url, drop } = await createTestDatabase();
  const logStream = new LogCollector();
  const app: App = await build(testConfig(url, { LOG_LEVEL: 'info', ...partnerEnv(sim), ...env }), { logStream, background: false });
  app.get('/test/block', () => {
    const end = Date.now() + BLOCK_MS;
    while (Date.now() < end);
    return { ok: true };
  });
  await app.ready();
  app.monitor.start();
  after(async () => {
    await app.close();
    await drop();
  });
  return { app, logStream };
}

const blockedLines = (logStream: LogCollector) => logStream.lines().filter((l) => /event loop blocked/.test(String(l.msg)));

describe('blocked event loop warnings', () => {
  let sim: Sim;
  after(async () => {
    await sim?.server.close();
  });

  it('warns once the loop was held, naming the route whose handler held it and for how long', async () => {
    sim = await startSim();
    const { app, logStream } = await appWithBlockingRoute(sim, {});
    const quiet = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(quiet.statusCode, 200);
    await sleep(100);
    const before = blockedLines(logStream).length;

    const res = await app.inject({ method: 'GET', url: '/test/block' });
    assert.equal(res.statusCode, 200);
    await sleep(100);

    // On a busy machine a stray scheduling stall may be reported too; the block must be reported once, by name.
    const warnings = blockedLines(logStream).slice(before);
    const named = warnings.filter((l) => l.culprit === 'GET /test/block');
    assert.equal(named.length, 1, JSON.stringify(warnings));
    const w = named[0]!;
    assert.equal(w.level, 40, 'warn level');
    assert.ok(typeof w.blocked_ms === 'number' && w.blocked_ms >= 200 && w.blocked_ms < 2_000, `blocked_ms ${w.blocked_ms}`);
    assert.equal(w.culprit, 'GET /test/block');
    assert.equal(w.last_started, 'GET /test/block');
    assert.equal(w.msg, `event loop blocked for ${w.blocked_ms} ms`);

    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    const blocks = Number(/^dabba_event_loop_blocks_total (\d+)$/m.exec(metrics.body)?.[1]);
    assert.equal(blocks, blockedLines(logStream).length, 'each warning is counted');
    assert.ok(blocks >= 1);
  });

  it('stays silent when BLOCKED_LOOP_THRESHOLD_MS=0', async () => {
    sim ??= await startSim();
    const { app, logStream } = await appWithBlockingRoute(sim, { BLOCKED_LOOP_THRESHOLD_MS: '0' });
    const res = await app.inject({ method: 'GET', url: '/test/block' });
    assert.equal(res.statusCode, 200);
    await sleep(150);
    assert.ok(logStream.lines().some((l) => l.msg === 'request'), 'the app does log at this level');
    assert.deepEqual(blockedLines(logStream), []);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /^dabba_event_loop_blocks_total 0$/m);
  });
});
