import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logNormalParams, sampleLatencyMs } from './latency.ts';

/** Seeded PRNG so a failure here is reproducible rather than a one-in-a-million flake. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

describe('latency sampler', () => {
  for (const [median, p99] of [
    [150, 600],
    [50, 200],
    [5, 10],
  ] as const) {
    it(`hits median ${median} and p99 ${p99} within 10% over 20k samples`, () => {
      const random = mulberry32(median * 31 + p99);
      const samples = Array.from({ length: 20_000 }, () => sampleLatencyMs(median, p99, random)).sort((a, b) => a - b);
      const m = quantile(samples, 0.5);
      const p = quantile(samples, 0.99);
      assert.ok(Math.abs(m - median) / median < 0.1, `median ${m}`);
      assert.ok(Math.abs(p - p99) / p99 < 0.1, `p99 ${p}`);
      assert.ok(samples[0]! > 0);
    });
  }

  it('derives mu and sigma from median and p99', () => {
    const { mu, sigma } = logNormalParams(100, 400);
    assert.equal(mu, Math.log(100));
    assert.ok(Math.abs(sigma - Math.log(4) / 2.3263) < 1e-12);
  });

  it('treats a zero median as no latency and equal median/p99 as constant', () => {
    assert.equal(sampleLatencyMs(0, 100), 0);
    assert.equal(sampleLatencyMs(40, 40), 40);
  });
});
