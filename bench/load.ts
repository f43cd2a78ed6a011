/**
 * The load generator, run in a process of its own so it never shares an event loop with what it
 * measures. Reads one job as JSON (argv[2]), drives it with autocannon, prints one JSON result line.
 * Loopback targets only; every run is bounded by its duration.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';

export interface LoadJob {
  url: string;
  kind: 'feed' | 'order';
  connections: number;
  durationS: number;
  /** Open loop: a fixed offered rate, latencies corrected for coordinated omission. */
  overallRate?: number;
  token?: string;
  /** For orders: what a request may contain (each request picks one and gets its own Idempotency-Key). */
  menu?: { restaurant_id: string; menu_item_id: string }[];
  center: { lat: number; lng: number };
}

export interface LoadResult {
  ok: number;
  duration_s: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  errors: Record<string, number>;
  status_counts: Record<string, number>;
  /** This load process's own CPU time, for the report's CPU shares. */
  cpu_ms: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as LoadJob;
if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(job.url)) throw new Error('load targets loopback only');

function jitter(center: { lat: number; lng: number }) {
  return { lat: center.lat + (Math.random() - 0.5) * 0.02, lng: center.lng + (Math.random() - 0.5) * 0.02 };
}

const requests: autocannon.Request[] =
  job.kind === 'feed'
    ? [
        {
          method: 'GET' as const,
          setupRequest: (req: autocannon.Request) => {
            const at = jitter(job.center);
            req.path = `/v1/feed?lat=${at.lat.toFixed(5)}&lng=${at.lng.toFixed(5)}`;
            return req;
          },
        },
      ]
    : [
        {
          method: 'POST' as const,
          path: '/v1/orders',
          setupRequest: (req: autocannon.Request) => {
            const pick = job.menu![Math.floor(Math.random() * job.menu!.length)]!;
            const at = jitter(job.center);
            req.headers = {
              ...req.headers,
              'content-type': 'application/json',
              authorization: `Bearer ${job.token}`,
              'idempotency-key': randomUUID(),
            };
            req.body = JSON.stringify({
              restaurant_id: pick.restaurant_id,
              items: [{ menu_item_id: pick.menu_item_id, quantity: 1 }],
              delivery: { ...at, address: 'Bench Road, Mumbai' },
            });
            return req;
          },
        },
      ];

// Latency of successful responses only: in a shed run the fast 503s must not flatter the accepted ones.
const okLatency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000, numberOfSignificantValueDigits: 3 });
// At a fixed offered rate each connection is due to send every 1000·C/R ms; a response slower than that
// hides the requests that should have been sent meanwhile, which the histogram adds back (coordinated
// omission). autocannon's own correction assumes a 1 ms interval, so it is switched off and done here.
// @see https://github.com/HdrHistogram/HdrHistogramJS#coordinated-omission
const expectedIntervalMs = job.overallRate ? (1000 * job.connections) / job.overallRate : 0;
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon(
    {
      url: job.url,
      connections: job.connections,
      duration: job.durationS,
      timeout: 30,
      requests,
      ...(job.overallRate ? { overallRate: job.overallRate, ignoreCoordinatedOmission: true } : {}),
    },
    (err, res) => (err ? reject(err) : resolve(res)),
  );
  instance.on('response', (_client, status, _bytes, responseTime) => {
    if (status < 200 || status >= 300) return;
    const ms = Math.max(1, Math.round(responseTime));
    if (expectedIntervalMs > 0) okLatency.recordValueWithExpectedInterval(ms, expectedIntervalMs);
    else okLatency.recordValue(ms);
  });
});

const statusCounts: Record<string, number> = {};
for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = Number((stats as { count: number }).count);
const errors: Record<string, number> = {};
for (const [code, count] of Object.entries(statusCounts)) if (!code.startsWith('2') && count > 0) errors[code] = count;
if (result.timeouts) errors.timeout = result.timeouts;
const socketErrors = result.errors - result.timeouts;
if (socketErrors > 0) errors.socket = socketErrors;
const ok = Object.entries(statusCounts).reduce((n, [code, c]) => (code.startsWith('2') ? n + c : n), 0);
const out: LoadResult = {
  ok,
  duration_s: result.duration,
  p50_ms: okLatency.getValueAtPercentile(50),
  p99_ms: okLatency.getValueAtPercentile(99),
  p999_ms: okLatency.getValueAtPercentile(99.9),
  errors,
  status_counts: statusCounts,
  cpu_ms: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
