import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { build } from '../src/app.ts';
import { createTestDatabase, partnerEnv, setup, startSim, testConfig } from './helper.ts';

const isCheck = (sql: string) => /^\s*select 1\s*$/i.test(sql);

// No job workers or sweeper: only /readyz queries the database here.
let checks = 0;
const ctx = await setup({ background: false, onQuery: (_ms, sql) => void (isCheck(sql) && checks++) });
const draining = await setup({ background: false });

/**
 * A TCP hop between the app and PostgreSQL that can stop passing bytes, so the database stops
 * answering without refusing anything: what a hung server or a dropped network looks like.
 */
async function freezableProxy(target: URL) {
  let frozen = false;
  const held: [net.Socket, Buffer][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(from);
      from.on('data', (chunk) => (frozen ? held.push([to, chunk]) : to.write(chunk)));
      from.on('error', () => {});
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const [to, chunk] of held.splice(0)) to.write(chunk);
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('/readyz', () => {
  it('a flood of 200 concurrent probes runs one database check, and a probe after a second checks again', async () => {
    await sleep(1_100);
    checks = 0;
    const answers = await Promise.all(Array.from({ length: 200 }, () => ctx.app.inject('/readyz')));
    assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([200]));
    assert.equal(answers[199]!.json().database, true);
    assert.equal(checks, 1, 'concurrent probes share one check');

    await Promise.all(Array.from({ length: 50 }, () => ctx.app.inject('/readyz')));
    assert.equal(checks, 1, 'within a second the answer is reused');

    await sleep(1_100);
    assert.equal((await ctx.app.inject('/readyz')).statusCode, 200);
    assert.equal(checks, 2, 'after a second the database is asked again');
  });

  it('turns 503 on the very next probe once shutting down, though a ready answer is reused for a second', async () => {
    assert.equal((await draining.app.inject('/readyz')).statusCode, 200);
    draining.app.services.health.markShuttingDown();
    const started = performance.now();
    const res = await draining.app.inject('/readyz');
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().shutting_down, true);
    assert.ok(performance.now() - started < 500, 'the answer does not wait for the database');
  });

  it('a database that stops answering makes readiness false within about 2 s, and never has more than one check query', async () => {
    const { url, drop } = await createTestDatabase();
    const proxy = await freezableProxy(new URL(url));
    const sim = await startSim();
    let ran = 0;
    const app = await build(testConfig(proxy.url, partnerEnv(sim)), {
      background: false,
      onQuery: (_ms, sql) => void (isCheck(sql) && ran++),
    });
    after(async () => {
      proxy.thaw();
      await app.close();
      await proxy.close();
      await sim.server.close();
      await drop();
    });
    await app.ready();
    assert.equal((await app.inject('/readyz')).statusCode, 200, 'ready while the database answers');
    await sleep(1_100);

    proxy.freeze();
    ran = 0;
    // Three rounds past the reuse window, each probe flooded: without a bound on queries in flight
    // each round would leave another SELECT 1 hanging on a pool connection.
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: 20 }, () => app.inject('/readyz')));
      const ms = performance.now() - started;
      for (const a of answers) {
        assert.equal(a.statusCode, 503);
        assert.equal(a.json().database, false);
      }
      assert.ok(ms >= 1_500 && ms < 4_000, `answered in ${Math.round(ms)} ms: the check waits about 2 s`);
      await sleep(1_100);
    }

    proxy.thaw();
    await sleep(500);
    assert.equal(ran, 1, 'the one query that hung came back once the database answered; no others were sent');
    assert.equal((await app.inject('/readyz')).statusCode, 200, 'ready again');
  });
});
