/**
 * The load generator, run in a process of its own so it never shares an event loop with what it
 * measures. Reads one job as JSON (argv[2]), drives it (closed loop with autocannon, open loop on a
 * fixed schedule: open-loop.ts) and prints one JSON result line. Loopback targets only; every run is
 * bounded by its duration.
 */
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { type LoadJob, type LoadResult, isPartial, nextRequest } from './load-requests.ts';
import { openLoop } from './open-loop.ts';

export type { LoadJob, LoadResult } from './load-requests.ts';

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(job.url)) throw new Error('load targets loopback only');

let partial = 0;
const requests: autocannon.Request[] = [
  {
    setupRequest: (req: autocannon.Request) => Object.assign(req, nextRequest(job)),
    ...(job.kind === 'feed'
      ? {
          onResponse: (status: number, body: string) => {
            if (status >= 200 && status < 300 && isPartial(body)) partial++;
          },
        }
      : {}),
  },
];

// Latency of 2xx responses only (partial feeds included): in a shed run the fast 503s must not flatter the accepted ones.
const okLatency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000, numberOfSignificantValueDigits: 3 });
async function closedLoop() {
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: job.url, connections: job.connections, duration: job.durationS, timeout: 30, requests },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, responseTime) => {
      if (status >= 200 && status < 300) okLatency.recordValue(Math.max(1, Math.round(responseTime)));
    });
  });
  const statusCounts: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = Number((stats as { count: number }).count);
  const errors: Record<string, number> = {};
  for (const [code, count] of Object.entries(statusCounts)) if (!code.startsWith('2') && count > 0) errors[code] = count;
  if (result.timeouts) errors.timeout = result.timeouts;
  if (partial > 0) errors.partial = partial;
  const socketErrors = result.errors - result.timeouts;
  if (socketErrors > 0) errors.socket = socketErrors;
  return { statusCounts, errors, durationS: result.duration };
}

const { statusCounts, errors, durationS } = job.overallRate ? await openLoop(job, okLatency) : await closedLoop();
// Successes are complete answers: a partial feed is counted under errors.partial instead.
const ok = Object.entries(statusCounts).reduce((n, [code, c]) => (code.startsWith('2') ? n + c : n), 0) - (errors.partial ?? 0);
const out: LoadResult = {
  ok,
  duration_s: Math.round(durationS * 100) / 100,
  p50_ms: okLatency.getValueAtPercentile(50),
  p99_ms: okLatency.getValueAtPercentile(99),
  p999_ms: okLatency.getValueAtPercentile(99.9),
  errors,
  status_counts: statusCounts,
  cpu_ms: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
