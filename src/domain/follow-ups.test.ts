import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { followUps } from './follow-ups.ts';
import { ORDER_STATUSES } from './order-status.ts';

describe('follow-ups of a status change', () => {
  it('announces every change', () => {
    for (const status of ORDER_STATUSES) assert.ok(followUps(status).includes('notify'), status);
  });

  it('captures only on delivery and compensates every way an order can fail', () => {
    const capturing = ORDER_STATUSES.filter((s) => followUps(s).includes('capture'));
    const compensating = ORDER_STATUSES.filter((s) => followUps(s).includes('compensate'));
    assert.deepEqual(capturing, ['delivered']);
    assert.deepEqual(compensating.sort(), ['cancelled', 'payment_failed', 'rejected']);
  });
});
