import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RefusalBudget } from './refusal-budget.ts';

describe('the refusal budget', () => {
  it('refuses a tenth of a second’s worth at once, then the rest oldest first as it refills, skipping cancelled ones', async () => {
    const budget = new RefusalBudget(50); // 5 at once, then one every 20 ms
    const refused: number[] = [];
    const pending = Array.from({ length: 12 }, (_, i) => budget.refuse(() => refused.push(i)));
    // Nothing takes long enough here to refill a whole token (20 ms) before this line.
    assert.deepEqual(refused, [0, 1, 2, 3, 4], 'the burst at once, the rest deferred');
    assert.equal(pending[4], undefined, 'a refusal made at once leaves nothing to cancel');
    pending[6]!.cancel();
    pending[9]!.cancel();
    while (refused.length < 10) await sleep(20);
    assert.deepEqual(refused, [0, 1, 2, 3, 4, 5, 7, 8, 10, 11]);
    budget.close();
  });

  it('refuses no faster than the rate, however late its timer runs', async () => {
    const budget = new RefusalBudget(20); // burst 2, then one every 50 ms
    const started = performance.now();
    const at: number[] = [];
    for (let i = 0; i < 6; i++) budget.refuse(() => at.push(performance.now() - started));
    while (at.length < 6) await sleep(20);
    // The budget refills by the clock, whenever its timer runs: four deferred refusals need 200 ms of refill.
    assert.ok(at[1]! < 50, 'the burst went at once');
    assert.ok(at[5]! >= 190, `the last deferred refusal came after ${Math.round(at[5]!)} ms`);
    budget.close();
  });

  it('refuses everything at once when the budget is 0', () => {
    const budget = new RefusalBudget(0);
    let refused = 0;
    for (let i = 0; i < 1_000; i++) budget.refuse(() => refused++);
    assert.equal(refused, 1_000);
    budget.close();
  });
});
