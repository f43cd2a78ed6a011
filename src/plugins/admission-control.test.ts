import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Gate, Slot } from './admission-control.ts';

const gate = (): Gate => ({ route: 'GET /v1/test', limit: 10, inFlight: 0 });

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
});
