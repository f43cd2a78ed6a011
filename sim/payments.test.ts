import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, it } from 'node:test';
import { useSim } from './testing.ts';

const sim = useSim();
const key = () => randomUUID();

async function authorize(orderId: string, amount = 2500, idempotencyKey: string = key()) {
  return sim.call('POST', '/payments/v1/authorizations', {
    order_id: orderId,
    amount_cents: amount,
    currency: 'INR',
    idempotency_key: idempotencyKey,
  });
}

const ledger = async (orderId: string) =>
  (await sim.call('GET', `/_sim/payments/ledger?order_id=${encodeURIComponent(orderId)}`)).body.entries;

describe('payments sim', () => {
  beforeEach(() => sim.fast());

  it('authorizes and replays the first result for a repeated idempotency key', async () => {
    const k = key();
    const first = await authorize('o-1', 2500, k);
    const second = await authorize('o-1', 2500, k);
    assert.equal(first.status, 201);
    assert.equal(first.body.status, 'authorized');
    assert.deepEqual(second, first);
    const entries = await ledger('o-1');
    assert.deepEqual(
      entries.map((e: { replay: boolean; outcome: string }) => [e.outcome, e.replay]),
      [
        ['authorized', false],
        ['authorized', true],
      ],
    );
    assert.equal(entries[1].authorization_id, first.body.authorization_id);
  });

  it('refuses a key reused for a different request', async () => {
    const k = key();
    await authorize('o-2', 100, k);
    const other = await authorize('o-2', 200, k);
    assert.equal(other.status, 422);
    assert.equal((await ledger('o-2')).length, 1);
  });

  it('declines large amounts and orders configured to decline', async () => {
    const big = await authorize('o-3', 500_001);
    assert.equal(big.status, 402);
    assert.deepEqual(big.body, { status: 'declined', reason: 'amount_limit_exceeded' });
    await sim.call('PUT', '/_sim/payments/declines/o-4');
    const configured = await authorize('o-4', 100);
    assert.equal(configured.status, 402);
    assert.equal(configured.body.reason, 'card_declined');
    assert.equal((await ledger('o-4'))[0].outcome, 'declined');
  });

  it('captures once, rejects a second capture and a void of the captured auth', async () => {
    const { authorization_id: id } = (await authorize('o-5', 1000)).body;
    const captured = await sim.call('POST', `/payments/v1/authorizations/${id}/capture`, { idempotency_key: key() });
    assert.equal(captured.status, 200);
    assert.equal(captured.body.amount_cents, 1000);
    const again = await sim.call('POST', `/payments/v1/authorizations/${id}/capture`, { idempotency_key: key() });
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'already_captured');
    const voided = await sim.call('POST', `/payments/v1/authorizations/${id}/void`, { idempotency_key: key() });
    assert.equal(voided.status, 409);
    const refund = await sim.call('POST', `/payments/v1/authorizations/${id}/refund`, {
      idempotency_key: key(),
      amount_cents: 400,
    });
    assert.equal(refund.status, 200);
    assert.equal(refund.body.refunded_total_cents, 400);
    const over = await sim.call('POST', `/payments/v1/authorizations/${id}/refund`, {
      idempotency_key: key(),
      amount_cents: 601,
    });
    assert.equal(over.status, 409);
    const outcomes = (await ledger('o-5')).map((e: { kind: string; outcome: string }) => `${e.kind}:${e.outcome}`);
    assert.deepEqual(outcomes, [
      'authorize:authorized',
      'capture:captured',
      'capture:rejected',
      'void:rejected',
      'refund:refunded',
      'refund:rejected',
    ]);
  });

  it('rejects capture of a voided auth and answers 404 for an unknown one', async () => {
    const { authorization_id: id } = (await authorize('o-6')).body;
    assert.equal(
      (await sim.call('POST', `/payments/v1/authorizations/${id}/void`, { idempotency_key: key() })).status,
      200,
    );
    const capture = await sim.call('POST', `/payments/v1/authorizations/${id}/capture`, { idempotency_key: key() });
    assert.equal(capture.status, 409);
    assert.equal(capture.body.reason, 'already_voided');
    const unknown = await sim.call('POST', '/payments/v1/authorizations/auth_nope/capture', { idempotency_key: key() });
    assert.equal(unknown.status, 404);
  });

  it('validates bodies with field errors', async () => {
    const res = await sim.call('POST', '/payments/v1/authorizations', {
      order_id: '',
      amount_cents: -1,
      currency: 'rupees',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(Object.keys(res.body.fields).sort(), ['amount_cents', 'currency', 'idempotency_key', 'order_id']);
  });

  it('records after-processing failures, so only a same-key retry is safe', async () => {
    await sim.settings('payments', { error_rate: 1 });
    const seen = new Map<number, string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) {
      const orderId = `o-err-${i}`;
      const res = await authorize(orderId, 100, `k-${orderId}`);
      assert.ok(res.status === 500 || res.status === 503, `status ${res.status}`);
      if (!seen.has(res.status)) seen.set(res.status, orderId);
    }
    const before = seen.get(500)!;
    const afterProcessing = seen.get(503)!;
    assert.ok(before && afterProcessing, 'saw both kinds of injected failure');
    assert.deepEqual(await ledger(before), []);
    const recorded = await ledger(afterProcessing);
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0].outcome, 'authorized');

    await sim.settings('payments', { error_rate: 0 });
    const retry = await authorize(afterProcessing, 100, `k-${afterProcessing}`);
    assert.equal(retry.status, 201);
    assert.equal(retry.body.authorization_id, recorded[0].authorization_id);
    const final = await ledger(afterProcessing);
    assert.equal(final.filter((e: { replay: boolean }) => !e.replay).length, 1);
    assert.equal(final.length, 2);
  });
});
