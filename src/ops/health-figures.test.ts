import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HealthFigures } from './health-figures.ts';
import { createMetrics } from './metrics.ts';

describe('health figures', () => {
  it('reports requests and their p99 since the last sample', async () => {
    const metrics = createMetrics();
    after(() => metrics.close());
    const health = new HealthFigures(metrics);
    const request = (route: string, seconds: number) => metrics.httpSeconds.observe({ method: 'GET', route, status_code: '200' }, seconds);
    request('/v1/orders', 0.02);
    await health.start();
    after(() => health.stop());

    for (let i = 0; i < 99; i++) request('/v1/orders', 0.004);
    request('/v1/feed', 0.3);
    metrics.partnerBreakerState.set({ partner: 'payments' }, 1);
    const call = (partner: string, seconds: number) => metrics.partnerCallSeconds.observe({ partner, operation: 'op', outcome: 'ok' }, seconds);
    for (let i = 0; i < 50; i++) call('payments', 0.03);
    call('eta', 0.3);
    metrics.liveSources.connections = () => ({ order_track: 3 });
    const first = await health.sample();
    assert.ok(first.requests_per_second > 0);
    // 99 of the 100 requests were under 5 ms.
    assert.equal(first.latency_p99_ms, 5);
    assert.deepEqual(first.breakers, { payments: 'open' });
    assert.deepEqual(first.partner_latency_p99_ms, { payments: 50, eta: 400 });
    assert.deepEqual(first.live_connections, { order_track: 3 });
    assert.ok(first.event_loop.utilization >= 0 && first.event_loop.utilization <= 1);

    request('/v1/feed', 20);
    const second = await health.sample();
    assert.equal(second.latency_p99_ms, 10_000, 'the open-ended bucket reads as its lower bound');
    const third = await health.sample();
    assert.equal(third.requests_per_second, 0);
    assert.equal(third.latency_p99_ms, null);
    assert.deepEqual(third.partner_latency_p99_ms, { payments: null, eta: null }, 'no calls since the last sample');
  });
});
