import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DispatchPool } from './dispatch-pool.ts';

describe('dispatch pool', () => {
  it('reports an order overdue once, however many rounds it keeps waiting', () => {
    const pool = new DispatchPool(1_000);
    const orders = [
      { id: 'a', waitingSinceMs: 0 },
      { id: 'b', waitingSinceMs: 500 },
    ];
    assert.deepEqual(pool.observe('z', orders, 900), []);
    assert.deepEqual(pool.observe('z', orders, 1_000), [{ id: 'a', waitingMs: 1_000 }]);
    assert.deepEqual(pool.observe('z', orders, 1_200), []);
    assert.deepEqual(pool.observe('z', orders, 1_600).map((o) => o.id), ['b']);
    assert.deepEqual(pool.observe('z', orders, 5_000), []);
  });

  it('counts waiting and overdue orders per zone at the time asked, and forgets a zone it no longer leads', () => {
    const pool = new DispatchPool(1_000);
    pool.observe('z1', [{ id: 'a', waitingSinceMs: 0 }, { id: 'b', waitingSinceMs: 800 }], 900);
    pool.observe('z2', [], 900);
    assert.deepEqual(pool.snapshot(1_500), [
      { zone: 'z1', waiting: 2, overdue: 1 },
      { zone: 'z2', waiting: 0, overdue: 0 },
    ]);
    pool.forget('z1');
    assert.deepEqual(pool.snapshot(1_500), [{ zone: 'z2', waiting: 0, overdue: 0 }]);
  });
});
