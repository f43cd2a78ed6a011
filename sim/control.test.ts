import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useSim } from './testing.ts';

const sim = useSim();

describe('control API', () => {
  it('lists default settings for every partner', async () => {
    await sim.call('POST', '/_sim/reset');
    const { status, body } = await sim.call('GET', '/_sim/partners');
    assert.equal(status, 200);
    assert.deepEqual(body.payments, { median_ms: 150, p99_ms: 600, error_rate: 0, mode: 'normal' });
    assert.deepEqual(Object.keys(body), ['payments', 'pos', 'eta', 'notify', 'catalog']);
    assert.deepEqual([body.catalog.median_ms, body.catalog.p99_ms], [100, 400]);
  });

  it('updates any subset of settings', async () => {
    const res = await sim.settings('notify', { error_rate: 0.25, mode: 'hang' });
    assert.deepEqual(res.body, { median_ms: 80, p99_ms: 300, error_rate: 0.25, mode: 'hang' });
    assert.equal((await sim.call('GET', '/_sim/partners/notify')).body.mode, 'hang');
  });

  it('rejects bad settings with field errors and changes nothing', async () => {
    await sim.call('POST', '/_sim/reset');
    const res = await sim.settings('eta', { median_ms: -1, error_rate: 2, mode: 'slow', latency: 5 });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body.fields).sort(), ['error_rate', 'latency', 'median_ms', 'mode']);
    const inverted = await sim.settings('eta', { median_ms: 300 });
    assert.equal(inverted.status, 400);
    assert.match(inverted.body.fields.p99_ms, /median_ms/);
    assert.equal((await sim.settings('eta', [])).status, 400);
    assert.equal((await sim.call('GET', '/_sim/partners/eta')).body.median_ms, 50);
  });

  it('answers 404 for an unknown partner', async () => {
    const res = await sim.settings('sms' as 'notify', { mode: 'down' });
    assert.equal(res.status, 404);
  });

  it('reset restores defaults and clears every record', async () => {
    await sim.settings('payments', { median_ms: 1, p99_ms: 1, error_rate: 0 });
    await sim.settings('notify', { median_ms: 1, p99_ms: 1 });
    await sim.call('POST', '/payments/v1/authorizations', {
      order_id: 'r-1',
      amount_cents: 1,
      currency: 'INR',
      idempotency_key: 'r-1',
    });
    await sim.call('POST', '/notify/v1/messages', {
      channel: 'sms',
      to: '+911',
      template: 't',
      idempotency_key: 'r-1',
    });
    assert.equal((await sim.call('GET', '/_sim/payments/ledger')).body.entries.length, 1);

    const reset = await sim.call('POST', '/_sim/reset');
    assert.equal(reset.status, 200);
    assert.deepEqual(reset.body.partners.payments, { median_ms: 150, p99_ms: 600, error_rate: 0, mode: 'normal' });
    assert.deepEqual((await sim.call('GET', '/_sim/payments/ledger')).body.entries, []);
    assert.deepEqual((await sim.call('GET', '/_sim/notify/sent')).body.messages, []);
  });

  it('reports health', async () => {
    const { status, body } = await sim.call('GET', '/_sim/health');
    assert.equal(status, 200);
    assert.equal(body.status, 'ok');
    assert.equal(typeof body.in_flight, 'number');
  });
});
