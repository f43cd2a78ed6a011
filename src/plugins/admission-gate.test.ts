import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Gate, Slot } from './admission-gate.ts';

const gate = () => new Gate('GET /v1/test', 10, 10);

describe('an admission slot', () => {
  it('is given back when the response closes, for a request that never reached its handler', () => {
    const g = gate();
    const slot = new Slot(g);
    assert.equal(g.inFlight, 1);
    slot.closed();
    assert.equal(g.inFlight, 0);
  });

  it('is held after the response closes until the running handler settles, then given back once', async () => {
    const g = gate();
    const slot = new Slot(g);
    let finish!: (v: string) => void;
    const result = slot.run(() => new Promise<string>((resolve) => (finish = resolve)));
    slot.closed();
    assert.equal(g.inFlight, 1, 'the client left, the work did not');
    finish('done');
    assert.equal(await result, 'done');
    assert.equal(g.inFlight, 0);
  });

  it('is held after the handler settles until the response closes', async () => {
    const g = gate();
    const slot = new Slot(g);
    await slot.run(async () => 'sent');
    assert.equal(g.inFlight, 1);
    slot.closed();
    assert.equal(g.inFlight, 0);
  });

  it('is taken back for a handler that starts after the client left, and given back once it settles', async () => {
    const g = gate();
    const slot = new Slot(g);
    slot.closed();
    assert.equal(g.inFlight, 0);
    let finish!: () => void;
    const result = slot.run(() => new Promise<void>((resolve) => (finish = resolve)));
    assert.equal(g.inFlight, 1);
    finish();
    await result;
    assert.equal(g.inFlight, 0);
  });

  it('is given back once when the handler throws or rejects, however often the close is reported', async () => {
    const g = gate();
    const fail = (message: string) => {
      throw new Error(message);
    };
    const throwing = new Slot(g);
    assert.throws(() => throwing.run(() => fail('sync')), /sync/);
    const rejecting = new Slot(g);
    await assert.rejects(rejecting.run(async () => fail('async')), /async/);
    for (const s of [throwing, rejecting, throwing, rejecting]) s.closed();
    assert.equal(g.inFlight, 0);
  });

  it('keeps a synchronous handler synchronous', () => {
    const slot = new Slot(gate());
    assert.equal(slot.run(() => 42), 42);
  });

  it('hands a freed slot to the newest live waiter, skipping cancelled ones, and never past the limit', () => {
    const g = new Gate('GET /v1/test', 1, 10);
    const first = new Slot(g);
    const admitted: string[] = [];
    const slots: Slot[] = [];
    // As the plugin does: an admitted waiter takes its slot.
    const waiter = (name: string) => () => {
      admitted.push(name);
      slots.push(new Slot(g));
    };
    g.wait(waiter('oldest'));
    const middle = g.wait(waiter('middle'))!;
    g.wait(waiter('newest'));
    assert.equal(g.waiting, 3);
    first.closed();
    assert.deepEqual(admitted, ['newest'], 'one slot, one admission');
    assert.equal(g.inFlight, 1);
    middle.cancel();
    middle.cancel();
    assert.equal(g.waiting, 1);
    slots[0]!.closed();
    assert.deepEqual(admitted, ['newest', 'oldest'], 'the cancelled waiter was skipped');
    assert.equal(g.waiting, 0);
    slots[1]!.closed();
    assert.equal(g.inFlight, 0);
  });

  it('refuses a place in the wait when it is full', () => {
    const g = new Gate('GET /v1/test', 1, 2);
    assert.ok(g.wait(() => {}));
    assert.ok(g.wait(() => {}));
    assert.equal(g.wait(() => {}), undefined);
  });

  it('admits no one while paused, keeps a freed slot free, and hands free slots to the newest waiters once pumped after the pause', () => {
    let paused = false;
    const g = new Gate('GET /v1/test', 2, 10, () => paused);
    const running = new Slot(g);
    paused = true;
    assert.equal(g.hasRoom(), false, 'one of two slots is free, but the gate is paused');
    const admitted: string[] = [];
    const waiter = (name: string) => () => {
      admitted.push(name);
      new Slot(g);
    };
    g.wait(waiter('oldest'));
    g.wait(waiter('middle'));
    g.wait(waiter('newest'));
    running.closed();
    assert.deepEqual(admitted, [], 'a slot freed during the pause is not handed over');
    assert.equal(g.inFlight, 0);
    g.pump();
    assert.deepEqual(admitted, [], 'still paused: the pump admits no one');
    paused = false;
    g.pump();
    assert.deepEqual(admitted, ['newest', 'middle'], 'both free slots, newest first');
    assert.equal(g.inFlight, 2);
    assert.equal(g.waiting, 1);
  });
});
