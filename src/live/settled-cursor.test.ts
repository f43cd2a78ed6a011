import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SettledCursor } from './settled-cursor.ts';

const ev = (...ids: number[]) => ids.map((id) => ({ id }));
const ids = (r: { ready: { id: number }[] }) => r.ready.map((e) => e.id);

describe('settled cursor', () => {
  it('sends everything a read saw when no transaction was running', () => {
    const c = new SettledCursor(0);
    const r = c.settle(ev(1, 2, 3), { xmin: 100, xmax: 100 });
    assert.deepEqual(ids(r), [1, 2, 3]);
    assert.equal(r.held, false);
  });

  it('holds what a read saw while others ran, and sends it once they have all ended', () => {
    const c = new SettledCursor(0);
    // 11 is visible, 10 belongs to a transaction still running (xid 101).
    const first = c.settle(ev(11), { xmin: 101, xmax: 103 });
    assert.deepEqual(ids(first), []);
    assert.equal(first.held, true);
    // 10 has committed, but xid 102 still runs: 103 not yet passed.
    assert.deepEqual(ids(c.settle(ev(10, 11), { xmin: 102, xmax: 105 })), []);
    // Everything running at the first read has ended; later ids (12) wait for their own fence.
    const third = c.settle(ev(10, 11, 12), { xmin: 103, xmax: 106 });
    assert.deepEqual(ids(third), [10, 11]);
    assert.equal(third.held, true);
    for (const e of third.ready) c.sent(e.id);
    assert.equal(c.lastId, 11);
    assert.deepEqual(ids(c.settle(ev(12), { xmin: 106, xmax: 107 })), [12]);
  });

  it('keeps the oldest fence under steady load rather than chasing each newer read', () => {
    const c = new SettledCursor(0);
    c.settle(ev(5), { xmin: 10, xmax: 20 });
    // Each later read still has transactions running, with ever newer ids seen.
    c.settle(ev(5, 6), { xmin: 15, xmax: 25 });
    c.settle(ev(5, 6, 7), { xmin: 19, xmax: 30 });
    // The first fence (xmax 20) is passed: what it saw (up to 5) is settled, though new transactions run.
    assert.deepEqual(ids(c.settle(ev(5, 6, 7, 8), { xmin: 21, xmax: 35 })), [5]);
  });

  it('has nothing to say about an empty read', () => {
    const c = new SettledCursor(7);
    assert.deepEqual(c.settle([], undefined), { ready: [], held: false });
    assert.equal(c.lastId, 7);
  });
});
