/** z-score of the 99th percentile of the standard normal distribution. */
const Z_P99 = 2.3263;

export interface LogNormal {
  mu: number;
  sigma: number;
}

/** Parameters chosen so the distribution's median and 99th percentile are exactly the given values. */
export function logNormalParams(medianMs: number, p99Ms: number): LogNormal {
  const mu = Math.log(medianMs);
  return { mu, sigma: Math.max(0, (Math.log(p99Ms) - mu) / Z_P99) };
}

/**
 * One log-normal sample in milliseconds. A median of 0 means "no latency" because the log-normal
 * has no mass at zero; `random` is injectable so tests can be deterministic.
 */
export function sampleLatencyMs(medianMs: number, p99Ms: number, random: () => number = Math.random): number {
  if (medianMs <= 0) return 0;
  if (p99Ms <= medianMs) return medianMs;
  const { mu, sigma } = logNormalParams(medianMs, p99Ms);
  // 1 - random() lies in (0, 1], so the logarithm is always finite.
  const u1 = 1 - random();
  const u2 = random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return Math.exp(mu + sigma * z);
}
