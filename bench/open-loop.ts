/**
 * Open-loop load: requests start on a fixed schedule, one every 1000/R ms, whatever the server is
 * doing, over a pool of `connections` keep-alive sockets (a request finding every socket busy waits
 * for one in the pool's queue). Each latency runs from the request's scheduled start, so a stall is
 * charged to every request that should have gone out during it: coordinated omission cannot hide it.
 * autocannon's rate limit instead gives each connection a budget per second, which sends the whole
 * second's requests in one burst at each tick; a server with an admission limit then sees a burst
 * it must refuse and idle slots after it.
 * @see https://github.com/giltene/wrk2 (constant-throughput load, latency from the intended start)
 */
import { Pool } from 'undici';
import type { Histogram } from 'hdr-histogram-js';
import { type LoadJob, isPartial, nextRequest } from './load-requests.ts';

const REQUEST_TIMEOUT_MS = 30_000;

export async function openLoop(job: LoadJob, okLatency: Histogram) {
  // One deadline per request (the signal below), so a slow answer is always counted as a timeout.
  const pool = new Pool(job.url, { connections: job.connections, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  const statusCounts: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const count = (into: Record<string, number>, key: string) => {
    into[key] = (into[key] ?? 0) + 1;
  };
  const intervalMs = 1000 / job.overallRate!;
  const total = Math.round(job.overallRate! * job.durationS);
  const started = performance.now();
  const sent: Promise<void>[] = [];

  const send = (scheduledAt: number) => {
    const done = pool
      .request({ ...nextRequest(job), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      .then(async (res) => {
        const body = job.kind === 'feed' ? await res.body.text() : await res.body.dump().then(() => '');
        count(statusCounts, String(res.statusCode));
        if (res.statusCode >= 200 && res.statusCode < 300) {
          okLatency.recordValue(Math.max(1, Math.round(performance.now() - scheduledAt)));
          if (isPartial(body)) count(errors, 'partial');
        } else count(errors, String(res.statusCode));
      })
      .catch((err: Error) => count(errors, err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timeout' : 'socket'));
    sent.push(done);
  };

  // Catches up after a late timer instead of drifting: request i is due at started + i·interval.
  for (let i = 0; i < total; ) {
    const now = performance.now();
    while (i < total && started + i * intervalMs <= now) send(started + i++ * intervalMs);
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, started + i * intervalMs - performance.now())));
  }
  const duration = (performance.now() - started) / 1000;
  await Promise.all(sent);
  await pool.close();
  return { statusCounts, errors, durationS: duration };
}
