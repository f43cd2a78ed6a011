import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OrderEvent } from '../db/repositories/order-events.repository.ts';
import { SharedOrderReads } from './shared-order-reads.ts';

/** A source whose reads finish when the test says, counting them. */
function source() {
  const pending: ((rows: OrderEvent[]) => void)[] = [];
  return {
    reads: 0,
    forOrder() {
      this.reads++;
      return new Promise<OrderEvent[]>((resolve) => pending.push(resolve));
    },
    finish(rows: OrderEvent[] = []) {
      for (const resolve of pending.splice(0)) resolve(rows);
    },
  };
}

describe('SharedOrderReads', () => {
  it('serves watchers nudged by the same move with one read, and the same rows', async () => {
    const events = source();
    const reads = new SharedOrderReads(events, { movesHeard: 1 });
    const a = reads.forOrder('o1', 5, 50);
    const b = reads.forOrder('o1', 5, 50);
    const rows = [{ id: 6 }] as OrderEvent[];
    events.finish(rows);
    assert.equal(events.reads, 1);
    assert.equal(await a, rows);
    assert.equal(await b, rows);
  });

  it('never lets a watcher join a read begun before a move it was nudged by', async () => {
    const events = source();
    const hub = { movesHeard: 1 };
    const reads = new SharedOrderReads(events, hub);
    const before = reads.forOrder('o1', 5, 50);
    hub.movesHeard++;
    const after = reads.forOrder('o1', 5, 50);
    assert.equal(events.reads, 2);
    events.finish();
    await Promise.all([before, after]);
  });

  it('shares nothing across orders or cursors, and nothing once a read is over', async () => {
    const events = source();
    const reads = new SharedOrderReads(events, { movesHeard: 1 });
    const all = [reads.forOrder('o1', 5, 50), reads.forOrder('o2', 5, 50), reads.forOrder('o1', 6, 50)];
    assert.equal(events.reads, 3);
    events.finish();
    await Promise.all(all);
    const again = reads.forOrder('o1', 5, 50);
    assert.equal(events.reads, 4);
    events.finish();
    await again;
  });
});
