import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { haversineKm } from './eta.sim.ts';
import { useSim } from './testing.ts';

const sim = useSim();
const origin = { lat: 19.076, lng: 72.8777 };
const destination = { lat: 19.136, lng: 72.8777 };

describe('eta sim', () => {
  beforeEach(() => sim.fast());

  it('predicts travel at about 20 km/h plus prep time', async () => {
    const km = haversineKm(origin, destination);
    assert.ok(km > 6.6 && km < 6.8);
    const res = await sim.call('POST', '/eta/v1/predict', { origin, destination, prep_minutes: 10 });
    assert.equal(res.status, 200);
    assert.equal(res.body.model, 'sim-v1');
    assert.ok(Number.isInteger(res.body.minutes));
    assert.ok(res.body.minutes >= 27 && res.body.minutes <= 33, `${res.body.minutes}`);
    const same = await sim.call('POST', '/eta/v1/predict', { origin, destination: origin });
    assert.equal(same.body.minutes, 1);
  });

  it('rejects bad coordinates with field errors', async () => {
    const res = await sim.call('POST', '/eta/v1/predict', {
      origin: { lat: 91, lng: 0 },
      destination: { lat: '19', lng: 200 },
      prep_minutes: -1,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body.fields).sort(), [
      'destination.lat',
      'destination.lng',
      'origin.lat',
      'prep_minutes',
    ]);
    assert.equal((await sim.call('POST', '/eta/v1/predict', {})).status, 400);
  });
});

describe('notify sim', () => {
  beforeEach(() => sim.fast());

  it('sends once per idempotency key', async () => {
    const message = {
      channel: 'push',
      to: 'user-1',
      template: 'order_accepted',
      data: { order_id: 'o-1' },
      idempotency_key: 'n-1',
    };
    const first = await sim.call('POST', '/notify/v1/messages', message);
    assert.equal(first.status, 202);
    assert.match(first.body.message_id, /^msg_/);
    assert.deepEqual(await sim.call('POST', '/notify/v1/messages', message), first);
    await sim.call('POST', '/notify/v1/messages', { ...message, idempotency_key: 'n-2' });
    const { messages } = (await sim.call('GET', '/_sim/notify/sent?to=user-1')).body;
    assert.deepEqual(
      messages.map((m: { idempotency_key: string }) => m.idempotency_key),
      ['n-1', 'n-2'],
    );
    assert.deepEqual(messages[0].data, { order_id: 'o-1' });
  });

  it('validates the channel and required fields', async () => {
    const res = await sim.call('POST', '/notify/v1/messages', { channel: 'email', to: 'x' });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body.fields).sort(), ['channel', 'idempotency_key', 'template']);
  });
});
