/**
 * `npx node bench/soak.ts [--minutes 30]`: dabba at half its measured capacity for a long while, to
 * see whether anything creeps — memory, event-loop delay, database pool queue, follow-up job queues,
 * latency. Starts PostgreSQL, the simulators and the API as the benchmark does (stage.ts), measures
 * the feed's peak with a short closed-loop ramp (or takes it from bench/results/latest.json, or a
 * given --rate), then drives a mix of feeds, orders and order reads open loop at half that rate
 * (soak-load.ts), sampling the API every window. Writes bench/results/soak.json and soak.svg, prints
 * the verdict table and exits 1 unless every judged metric is flat. Loopback only; bounded in time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { expectedFanOutMs } from './little.ts';
import type { LoadJob, LoadResult } from './load-requests.ts';
import { runNode } from './processes.ts';
import { renderSoakSvg } from './soak-chart.ts';
import type { Kind, SoakDone, SoakLoadJob, SoakWindow } from './soak-load.ts';
import { type SoakSample, scrape, takeSample } from './soak-sample.ts';
import { formatVerdict, judge } from './soak-verdict.ts';
import { CENTER, database, orderFixtures, startApi, startPartners } from './stage.ts';

export interface SoakOptions {
  minutes: number;
  /** Seconds per closed-loop ramp level; 0 takes the feed peak of bench/results/latest.json instead. */
  rampSeconds: number;
  /** Load at the soak's rate and mix before sampling starts, not recorded: the first minutes compare warm with warm. */
  warmupSeconds: number;
  sampleSeconds: number;
  /** A fixed total rate (requests/s), skipping the capacity measurement. */
  rate?: number;
  customers: number;
}

/** `--minutes 30 --ramp-seconds 15 --warmup-seconds 60 --sample-seconds 10 [--rate R] --customers 20`. */
export function soakOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '30' },
      'ramp-seconds': { type: 'string', default: '15' },
      'warmup-seconds': { type: 'string', default: '60' },
      'sample-seconds': { type: 'string', default: '10' },
      rate: { type: 'string' },
      customers: { type: 'string', default: '20' },
    },
  });
  const num = (name: keyof typeof values, min: number) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min) throw new Error(`--${name} must be a number ≥ ${min} (got ${values[name]})`);
    return v;
  };
  return {
    minutes: num('minutes', 0.5),
    rampSeconds: num('ramp-seconds', 0),
    warmupSeconds: num('warmup-seconds', 0),
    sampleSeconds: num('sample-seconds', 1),
    rate: values.rate === undefined ? undefined : num('rate', 1),
    customers: Math.round(num('customers', 1)),
  };
}

// Mostly home feeds, as an app's traffic is; a share of orders, and reads of orders placed earlier.
const MIX: Record<Kind, number> = { feed: 0.8, order: 0.1, read: 0.1 };
// Feed connection counts for the ramp: around where the feed peaks (bench/README.md: ~100 connections).
const RAMP_LEVELS = [25, 50, 100];
const SHARE_OF_CAPACITY = 0.5;
const RESULTS = 'bench/results';

const log = (line: string) => process.stdout.write(`${line}\n`);

/** Set-up calls on a busy machine can meet the API's load shedding (503): try again a few times. */
async function retrying<T>(what: string, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= 5) throw err;
      log(`  ${what} failed (${(err as Error).message.split('\n')[0]}); again in 3 s`);
      await new Promise((r) => setTimeout(r, 3_000));
    }
  }
}

/** Customers created up front through the API, each with a token, so orders are spread over accounts. */
async function createCustomers(apiUrl: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const run = Date.now().toString(36);
  for (let i = 0; i < count; i++) {
    const register = async () => {
      const res = await fetch(`${apiUrl}/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `soak-${run}-${i}@dabba.test`, password: 'soak-password-0123', name: `Soak Customer ${i}` }),
      });
      if (res.status !== 201) throw new Error(`registering customer ${i}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    };
    tokens.push(await retrying(`registering customer ${i}`, register));
  }
  return tokens;
}

async function latestFeedPeak(): Promise<number> {
  const latest = JSON.parse(await readFile(`${RESULTS}/latest.json`, 'utf8')) as { rows?: { scenario: string; mode: string; rps: number }[] };
  const peak = Math.max(0, ...(latest.rows ?? []).filter((r) => r.scenario === 'feed' && r.mode === 'closed').map((r) => r.rps));
  if (!peak) throw new Error(`no closed-loop feed rows in ${RESULTS}/latest.json: run the ramp (--ramp-seconds N) or give --rate`);
  return peak;
}

/** A short closed-loop feed ramp, like the feed scenario's levels: the best successful rate is the peak. */
async function measureFeedPeak(url: string, rampS: number): Promise<number> {
  const level = async (connections: number) => {
    const job: LoadJob = { url, kind: 'feed', connections, durationS: rampS, center: CENTER };
    const out = JSON.parse(await runNode(['bench/load.ts', JSON.stringify(job)], (rampS + 60) * 1000)) as LoadResult;
    log(`  ramp c=${connections}: ${(out.ok / out.duration_s).toFixed(1)} feeds/s, p99 ${out.p99_ms} ms, errors ${JSON.stringify(out.errors)}`);
    return out.ok / out.duration_s;
  };
  // Not a measurement: warms the API up first (JIT, pools, caches), as the benchmark does.
  await level(100);
  let peak = 0;
  for (const connections of RAMP_LEVELS) peak = Math.max(peak, await level(connections));
  return peak;
}

/** Runs the load process, sampling the API as each of its windows closes. */
async function drive(job: SoakLoadJob, apiUrl: string, apiPid: number) {
  const child: ChildProcess = spawn(process.execPath, ['bench/soak-load.ts', JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const samples: SoakSample[] = [];
  let done: SoakDone | undefined;
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      const msg = JSON.parse(line) as SoakWindow | SoakDone | { phase: 'recording' };
      if (msg.phase === 'recording') await scrape(apiUrl);
      else if (msg.phase === 'done') done = msg;
      else {
        const s = await takeSample(apiUrl, apiPid, msg);
        samples.push(s);
        log(
          `  ${String(s.t_s).padStart(5)} s  rss ${s.rss_mb} MB  heap ${s.heap_used_mb}/${s.heap_total_mb} MB  loop p99 ${s.loop_p99_ms} ms  ` +
            `pool ${s.pool_total}/${s.pool_idle}/${s.pool_waiting}  jobs ${s.jobs_queued_total}  in flight ${s.in_flight}  ` +
            `ok ${s.load.ok} refused ${s.load.refused} p99 ${s.load.p99_ms} ms  errors ${JSON.stringify(s.load.errors)}`,
        );
      }
    }
    const code = await exited;
    if (code !== 0 || !done) throw new Error(`the soak load process exited with ${code}`);
    return { samples, done };
  } finally {
    // Only the process started here, by its own handle.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
}

/** The whole soak; resolves to whether every judged metric stayed flat. */
export async function soak(opts: SoakOptions): Promise<boolean> {
  const { minutes, rampSeconds: rampS, warmupSeconds: warmupS, sampleSeconds: windowS, customers } = opts;
  const durationS = Math.round(minutes * 60);
  const started_at = new Date().toISOString();
  const db = await database();
  const partners = await startPartners();
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  try {
    // Registration is rate-limited per address, and every customer here comes from 127.0.0.1.
    api = await startApi(db.url, partners.env, { REGISTER_RATE_PER_MINUTE: '0' });
    const { menu } = await retrying('reading menus', () => orderFixtures(api!.url));
    if (!menu.length) throw new Error('no dishes to order: the demo city has no POS restaurant near the centre');
    const tokens = await createCustomers(api.url, customers);
    const l = partners.latency;
    const feedMs = expectedFanOutMs([...Array(10).fill(l.catalog!), ...Array(10).fill(l.eta!)]);

    let capacity: { source: string; feed_peak_rps: number | null };
    if (opts.rate !== undefined) capacity = { source: '--rate', feed_peak_rps: null };
    else if (rampS === 0) capacity = { source: `${RESULTS}/latest.json (closed-loop feed peak)`, feed_peak_rps: await latestFeedPeak() };
    else {
      log(`measuring the feed's peak: closed loop at ${RAMP_LEVELS.join(', ')} connections, ${rampS} s each`);
      capacity = { source: `ramp (closed-loop feed, ${RAMP_LEVELS.join('/')} connections, ${rampS} s each)`, feed_peak_rps: await measureFeedPeak(api.url, rampS) };
    }
    const rate = opts.rate ?? Math.max(2, Math.round(capacity.feed_peak_rps! * SHARE_OF_CAPACITY));
    // Enough sockets for rate × a slow answer (4× the expected feed latency), as the feed scenario sizes them.
    const connections = Math.max(100, Math.ceil((rate * feedMs * 4) / 1000));
    log(`soak: ${rate} requests/s (${JSON.stringify(MIX)}), ${connections} connections, ${warmupS} s warm-up, then ${durationS} s sampled every ${windowS} s`);

    const job: SoakLoadJob = { url: api.url, ratePerS: rate, connections, warmupS, durationS, windowS, tokens, menu, center: CENTER, mix: MIX };
    const { samples, done } = await drive(job, api.url, api.api.pid);
    const verdict = judge(samples, durationS);
    const report = {
      started_at,
      machine: { cpus: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version },
      settings: { minutes, warmup_s: warmupS, sample_s: windowS, rate_rps: rate, connections, mix: MIX, customers, share_of_capacity: SHARE_OF_CAPACITY },
      capacity,
      totals: done,
      summary: verdict,
      samples,
    };
    await mkdir(RESULTS, { recursive: true });
    await writeFile(`${RESULTS}/soak.json`, `${JSON.stringify(report, null, 2)}\n`);
    const subtitle = `${started_at.slice(0, 16).replace('T', ' ')} UTC · ${rate} req/s (${Math.round(MIX.feed * 100)}% feeds) for ${minutes} min · ${verdict.flat ? 'flat' : 'NOT FLAT'}`;
    await writeFile(`${RESULTS}/soak.svg`, renderSoakSvg(samples, subtitle));
    log('');
    log(`${samples.length} samples; requests ${done.sent}, ok ${done.ok}, orders refused ${done.refused}, p50 ${done.p50_ms} ms, p99 ${done.p99_ms} ms, errors ${JSON.stringify(done.errors)}`);
    log(formatVerdict(verdict));
    log(`\nwrote ${RESULTS}/soak.json and ${RESULTS}/soak.svg`);
    return verdict.flat;
  } finally {
    await api?.api.stop();
    await partners.sim.stop();
    await db.close();
  }
}

// Run directly (`npx node bench/soak.ts …`): the exit status is the verdict, so the soak is a check.
if (import.meta.main) process.exitCode = (await soak(soakOptions(process.argv.slice(2)))) ? 0 : 1;
