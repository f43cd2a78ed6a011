import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { startSimServer } from './server.ts';
import { call, useSim } from './testing.ts';

const sim = useSim();
const trip = { origin: { lat: 19.07, lng: 72.87 }, destination: { lat: 19.1, lng: 72.9 } };

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

describe('partner modes, latency and injected errors', () => {
  beforeEach(() => sim.fast());

  it('applies the configured latency', async () => {
    await sim.settings('eta', { median_ms: 5, p99_ms: 10 });
    const times: number[] = [];
    for (let i = 0; i < 30; i++) times.push(await timed(() => sim.call('POST', '/eta/v1/predict', trip)));
    times.sort((a, b) => a - b);
    // Only the lower bound is tight: a loaded CI machine can add time, never remove it.
    assert.ok(times[15]! >= 4 && times[15]! < 200, `median ${times[15]}`);

    await sim.settings('eta', { median_ms: 60, p99_ms: 60 });
    const slow = await timed(() => sim.call('POST', '/eta/v1/predict', trip));
    assert.ok(slow >= 55, `took ${slow}`);
  });

  it('never delays or fails control routes', async () => {
    for (const mode of ['normal', 'hang', 'down']) {
      for (const name of ['payments', 'pos', 'eta', 'notify', 'catalog'] as const) {
        await sim.settings(name, { mode, median_ms: 5000, p99_ms: 5000, error_rate: 1 });
      }
      const took = await timed(async () => {
        assert.equal((await sim.call('GET', '/_sim/partners')).status, 200);
        assert.equal((await sim.call('GET', '/_sim/payments/ledger')).status, 200);
      });
      assert.ok(took < 1000, `${mode}: ${took}`);
    }
  });

  it('drops the connection without an answer in down mode', async () => {
    await sim.settings('eta', { mode: 'down' });
    await assert.rejects(sim.call('POST', '/eta/v1/predict', trip), TypeError);
    await sim.settings('eta', { mode: 'normal' });
    assert.equal((await sim.call('POST', '/eta/v1/predict', trip)).status, 200);
  });

  it('hangs until the client gives up, and close() still returns promptly', async () => {
    const own = await startSimServer({ port: 0 });
    await call(own.url, 'PUT', '/_sim/partners/pos', { mode: 'hang' });
    await assert.rejects(
      call(own.url, 'POST', '/pos/v1/orders', {}, { signal: AbortSignal.timeout(100) }),
      (e: Error) => e.name === 'TimeoutError',
    );
    const pending = call(own.url, 'POST', '/pos/v1/orders', {});
    const settled = pending.then(
      () => 'answered',
      () => 'rejected',
    );
    for (let i = 0; (await call(own.url, 'GET', '/_sim/health')).body.hanging < 1; i++) {
      assert.ok(i < 200, 'request never reached the server');
      await new Promise((r) => setTimeout(r, 5));
    }
    const took = await timed(() => own.close());
    assert.ok(took < 500, `close took ${took}`);
    assert.equal(await settled, 'rejected');
  });

  it('injects both kinds of failure at error_rate 1', async () => {
    await sim.settings('eta', { error_rate: 1 });
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) statuses.add((await sim.call('POST', '/eta/v1/predict', trip)).status);
    assert.deepEqual([...statuses].sort(), [500, 503]);
  });

  it('answers bad JSON with 400, oversized bodies with 413 and unknown routes with 404', async () => {
    const bad = await sim.call('POST', '/eta/v1/predict', '{"origin":');
    assert.equal(bad.status, 400);
    assert.equal(typeof bad.body.error, 'string');
    const huge = await sim.call('POST', '/notify/v1/messages', JSON.stringify({ data: 'x'.repeat(1024 * 1024) }));
    assert.equal(huge.status, 413);
    assert.equal((await sim.call('GET', '/nowhere')).status, 404);
    assert.equal((await sim.call('GET', '/eta/v1/predict')).status, 404);
    assert.equal((await sim.call('GET', '/_sim/nowhere')).status, 404);
  });
});
