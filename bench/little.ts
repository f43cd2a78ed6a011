import { sampleLatencyMs } from '../sim/latency.ts';

export interface PartnerLatency {
  median_ms: number;
  p99_ms: number;
}

const DRAWS = 20_000;

/**
 * Expected latency of a fan-out that waits for all of its calls: the mean of the maximum of one draw
 * per call, from the simulators' configured log-normal distributions (Monte Carlo).
 */
export function expectedFanOutMs(calls: PartnerLatency[]): number {
  let sum = 0;
  for (let i = 0; i < DRAWS; i++) {
    let max = 0;
    for (const c of calls) max = Math.max(max, sampleLatencyMs(c.median_ms, c.p99_ms));
    sum += max;
  }
  return sum / DRAWS;
}

/** Little's law: C clients each waiting L seconds are served at most C / L per second. */
export function littleBound(connections: number, latencyMs: number) {
  return connections / (latencyMs / 1000);
}
