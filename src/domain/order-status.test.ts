import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ORDER_STATUSES, canAssignCourier, checkTransition, isTerminal } from './order-status.ts';

describe('order status machine', () => {
  it('follows the happy path placed → delivered with the right actor at each step', () => {
    const path = [
      ['placed', 'confirmed', 'restaurant'],
      ['confirmed', 'preparing', 'restaurant'],
      ['preparing', 'ready', 'restaurant'],
      ['ready', 'picked_up', 'courier'],
      ['picked_up', 'delivered', 'courier'],
    ] as const;
    for (const [from, to, actor] of path) assert.deepEqual(checkTransition(from, to, actor), { ok: true });
  });

  it('refuses to skip steps or to leave a terminal status', () => {
    assert.deepEqual(checkTransition('placed', 'ready', 'admin'), { ok: false, reason: 'illegal' });
    assert.deepEqual(checkTransition('confirmed', 'delivered', 'admin'), { ok: false, reason: 'illegal' });
    for (const terminal of ['delivered', 'payment_failed', 'rejected', 'cancelled'] as const) {
      assert.ok(isTerminal(terminal));
      for (const to of ORDER_STATUSES) assert.equal(checkTransition(terminal, to, 'admin').ok, false);
    }
  });

  it('lets a customer cancel only before preparing', () => {
    assert.equal(checkTransition('placed', 'cancelled', 'customer').ok, true);
    assert.equal(checkTransition('confirmed', 'cancelled', 'customer').ok, true);
    assert.deepEqual(checkTransition('preparing', 'cancelled', 'customer'), { ok: false, reason: 'forbidden' });
    assert.deepEqual(checkTransition('ready', 'cancelled', 'customer'), { ok: false, reason: 'illegal' });
  });

  it('keeps each step with its owner', () => {
    assert.deepEqual(checkTransition('placed', 'confirmed', 'customer'), { ok: false, reason: 'forbidden' });
    assert.deepEqual(checkTransition('ready', 'picked_up', 'restaurant'), { ok: false, reason: 'forbidden' });
    assert.deepEqual(checkTransition('placed', 'payment_failed', 'restaurant'), { ok: false, reason: 'forbidden' });
  });

  it('allows courier assignment only until pick-up', () => {
    assert.ok(canAssignCourier('ready'));
    assert.ok(!canAssignCourier('picked_up'));
    assert.ok(!canAssignCourier('cancelled'));
  });
});
