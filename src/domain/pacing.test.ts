import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { paceWait, type Sent } from './pacing.ts';

/** Runs arrivals `[at, arrivedAt]` through the pacing, each sent when allowed: the send times. */
function run(arrivals: [number, number][], intervalMs = 1_000) {
  let last: Sent | undefined;
  const sent: { at: number; sentAt: number }[] = [];
  let held: { at: number; due: number } | undefined;
  for (const [at, now] of arrivals) {
    if (held && held.due <= now) {
      last = { at: held.at, sentAt: held.due };
      sent.push(last);
      held = undefined;
    }
    const wait = paceWait(last, at, intervalMs, now);
    if (wait === 0 && !held) {
      last = { at, sentAt: now };
      sent.push(last);
    } else held = { at, due: held?.due ?? now + wait };
  }
  return sent;
}

describe('paceWait', () => {
  it('passes a once-a-second source untouched even when one hiccup bunches two arrivals', () => {
    // Sent every 1000 ms by the courier's clock; the fourth arrives 350 ms late, the fifth on time.
    const arrivals: [number, number][] = Array.from({ length: 30 }, (_, k) => [k * 1_000, k * 1_000 + (k === 3 ? 350 : 20)]);
    const sent = run(arrivals);
    assert.equal(sent.length, 30);
    const staleness = sent.map((s) => s.sentAt - s.at);
    assert.ok(Math.max(...staleness) <= 350, `never more stale than the one late arrival: ${staleness}`);
    assert.ok(staleness.slice(5).every((ms) => ms === 20), `back on schedule at once: ${staleness}`);
  });

  it('holds a flood to about one per interval of arrival', () => {
    const arrivals: [number, number][] = Array.from({ length: 1_000 }, (_, k) => [k * 10, k * 10]);
    const sent = run(arrivals);
    assert.ok(sent.length >= 10 && sent.length <= 11, `${sent.length} in 10 s`);
  });

  it('never sends two within half an interval, whatever the timestamps say', () => {
    assert.equal(paceWait({ at: 0, sentAt: 1_000 }, 5_000, 1_000, 1_200), 300);
    assert.equal(paceWait({ at: 0, sentAt: 1_000 }, 5_000, 1_000, 1_500), 0);
    assert.equal(paceWait(undefined, 0, 1_000, 0), 0);
  });
});
