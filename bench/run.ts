/**
 * `npm run bench` / `dabba bench [--scenario feed|order|shed] [--quick]`: starts PostgreSQL (DATABASE_URL
 * or embedded), the partner simulators, the API and the bare baseline, each in its own process, then
 * drives every scenario against both from a separate load process on loopback, and writes
 * bench/results/latest.json, a dated copy and the concurrency chart.
 */
import os from 'node:os';
import { expectedFanOutMs, littleBound } from './little.ts';
import type { LoadJob, LoadResult } from './load-requests.ts';
import { cpuMs, machineCpuMs, ownCpuMs, pidsNamed, runNode, withPeakRss } from './processes.ts';
import { CENTER, type Server, type Stage, database, startStage } from './stage.ts';
import { type BenchRun, type LevelResult, formatTable, targets, updateReadme, writeReport } from './report.ts';


export interface BenchOptions {
  scenarios: ('feed' | 'order' | 'shed')[];
  quick: boolean;
}

const log = (line: string) => process.stdout.write(`${line}\n`);

/** The API's loop delay p99 (ms) and utilisation since the previous scrape: each scrape starts a new window. */
async function loopFigures(url: string): Promise<{ delayP99Ms: number | null; utilization: number | null }> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const delay = /^dabba_event_loop_delay_p99_seconds (\S+)$/m.exec(text)?.[1];
  const elu = /^dabba_event_loop_utilization_ratio (\S+)$/m.exec(text)?.[1];
  return {
    delayP99Ms: delay === undefined ? null : Math.round(Number(delay) * 100_000) / 100,
    utilization: elu === undefined ? null : Math.round(Number(elu) * 1000) / 1000,
  };
}

export interface RunSpec {
  scenario: LevelResult['scenario'];
  kind: LoadJob['kind'];
  connections: number;
  durationS: number;
  overallRate?: number;
  boundLatencyMs: number;
}

const loadCpu = { ms: 0 };
const dbCpu = { ms: 0 };

/** CPU of each PostgreSQL process now running, by pid (backends come and go with the pools). */
async function postgresCpu(): Promise<Map<number, number>> {
  const pids = await pidsNamed('postgres');
  return new Map(await Promise.all(pids.map(async (pid) => [pid, await ownCpuMs(pid)] as const)));
}

/** What PostgreSQL used since `before`: a backend that started meanwhile counts whole; one that exited is lost. */
function postgresCpuSince(before: Map<number, number>, after: Map<number, number>) {
  let ms = 0;
  for (const [pid, cpu] of after) ms += Math.max(0, cpu - (before.get(pid) ?? 0));
  return ms;
}

/**
 * Waits until a server answers one feed request promptly: a server without bounded queues (the
 * baseline) is still working off the previous level's backlog after its clients have gone.
 */
async function settle(url: string) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const started = performance.now();
    const ok = await fetch(`${url}/v1/feed?lat=${CENTER.lat}&lng=${CENTER.lng}`, { signal: AbortSignal.timeout(5_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && performance.now() - started < 1_500) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  log(`  ${url} did not settle within 60 s`);
}

export async function runLevel(stage: Stage, server: Server, spec: RunSpec): Promise<LevelResult> {
  const pid = server === 'dabba' ? stage.api.pid : stage.baseline.pid;
  const url = stage.urls[server];
  const job: LoadJob = {
    url,
    kind: spec.kind,
    connections: spec.connections,
    durationS: spec.durationS,
    overallRate: spec.overallRate,
    token: stage.token,
    menu: stage.menu,
    center: CENTER,
  };
  await settle(url);
  if (server === 'dabba') await loopFigures(url);
  const cpuBefore = await cpuMs(pid);
  const dbBefore = await postgresCpu();
  const { value: out, peakMb } = await withPeakRss(pid, async () =>
    JSON.parse(await runNode(['bench/load.ts', JSON.stringify(job)], (spec.durationS + 60) * 1000)) as LoadResult,
  );
  loadCpu.ms += out.cpu_ms;
  const cpu = (await cpuMs(pid)) - cpuBefore;
  const loop = server === 'dabba' ? await loopFigures(url) : { delayP99Ms: null, utilization: null };
  const db = postgresCpuSince(dbBefore, await postgresCpu());
  dbCpu.ms += db;
  const total = Object.values(out.status_counts).reduce((a, b) => a + b, 0);
  const result: LevelResult = {
    scenario: spec.scenario,
    mode: spec.overallRate ? 'open' : 'closed',
    server,
    connections: spec.connections,
    rps: Math.round((out.ok / out.duration_s) * 10) / 10,
    p50_ms: out.p50_ms,
    p99_ms: out.p99_ms,
    p999_ms: out.p999_ms,
    errors: out.errors,
    rss_mb: Math.round(peakMb * 10) / 10,
    cpu_ms_per_request: out.ok ? Math.round((cpu / out.ok) * 1000) / 1000 : 0,
    db_cpu_ms_per_request: out.ok ? Math.round((db / out.ok) * 1000) / 1000 : 0,
    offered_rps: spec.overallRate ?? null,
    loop_delay_p99_ms: loop.delayP99Ms,
    loop_utilization: loop.utilization,
    cpu_utilization: Math.round((cpu / (out.duration_s * 1000)) * 1000) / 1000,
    bound_rps: Math.round(littleBound(spec.connections, spec.boundLatencyMs)),
    duration_s: out.duration_s,
    ...(spec.scenario === 'shed' ? { shed_share: total ? (out.status_counts['503'] ?? 0) / total : 0 } : {}),
  };
  log(`  ${server.padEnd(8)} ${spec.scenario}/${result.mode} c=${spec.connections}${spec.overallRate ? ` rate=${spec.overallRate}` : ''}: ${result.rps} rps, p99 ${result.p99_ms} ms, errors ${JSON.stringify(result.errors)}`);
  return result;
}

const peak = (results: LevelResult[], server: Server, scenario: string) =>
  Math.max(0, ...results.filter((r) => r.server === server && r.scenario === scenario && r.mode === 'closed').map((r) => r.rps));

export async function runBench(opts: BenchOptions): Promise<BenchRun> {
  const duration = opts.quick ? 2 : 10;
  const started_at = new Date().toISOString();
  log(`dabba bench (${opts.quick ? 'quick' : 'full'}): ${opts.scenarios.join(', ')}`);
  const db = await database();
  let stage: Stage | undefined;
  const results: LevelResult[] = [];
  try {
    stage = await startStage(db.url);
    const l = stage.latency;
    const feedMs = expectedFanOutMs([...Array(10).fill(l.catalog!), ...Array(10).fill(l.eta!)]);
    const orderMs = expectedFanOutMs([l.payments!, l.pos!, l.eta!]);
    log(`expected partner latency: feed ${feedMs.toFixed(0)} ms, order ${orderMs.toFixed(0)} ms`);

    const cpuStart = { machine: await machineCpuMs(), api: await cpuMs(stage.api.pid), baseline: await cpuMs(stage.baseline.pid), sim: await cpuMs(stage.sim.pid) };
    // Warm-up (not recorded): JIT, connection pools and caches on both servers.
    for (const server of ['dabba', 'baseline'] as const) {
      await runLevel(stage, server, { scenario: 'sweep', kind: 'feed', connections: 100, durationS: opts.quick ? 1 : 5, boundLatencyMs: feedMs });
      await runLevel(stage, server, { scenario: 'sweep', kind: 'order', connections: 20, durationS: 1, boundLatencyMs: orderMs });
    }

    const wants = new Set(opts.scenarios);
    if (wants.has('feed') || wants.has('shed')) {
      const levels = opts.quick ? [10, 100, 1000] : [10, 100, 1000, 5000];
      for (const connections of levels) {
        for (const server of ['dabba', 'baseline'] as const) {
          results.push(await runLevel(stage, server, { scenario: 'feed', kind: 'feed', connections, durationS: duration, boundLatencyMs: feedMs }));
        }
      }
    }
    if (wants.has('feed')) {
      const basePeak = peak(results, 'baseline', 'feed');
      for (const share of opts.quick ? [0.8] : [0.5, 0.8]) {
        const rate = Math.max(10, Math.round(basePeak * share));
        const connections = Math.max(100, Math.ceil((rate * feedMs * 4) / 1000));
        for (const server of ['dabba', 'baseline'] as const) {
          results.push(await runLevel(stage, server, { scenario: 'feed', kind: 'feed', connections, durationS: duration, overallRate: rate, boundLatencyMs: feedMs }));
        }
      }
    }
    if (wants.has('order')) {
      for (const connections of opts.quick ? [100] : [100, 1000]) {
        for (const server of ['dabba', 'baseline'] as const) {
          results.push(await runLevel(stage, server, { scenario: 'order', kind: 'order', connections, durationS: duration, boundLatencyMs: orderMs }));
        }
      }
    }
    if (wants.has('shed')) {
      const capacity = Math.max(peak(results, 'dabba', 'feed'), 10);
      const rate = Math.round(capacity * 3);
      const connections = Math.min(8000, Math.max(200, Math.ceil((rate * feedMs * 4) / 1000)));
      results.push(await runLevel(stage, 'dabba', { scenario: 'shed', kind: 'feed', connections, durationS: duration, overallRate: rate, boundLatencyMs: feedMs }));
    }

    const machine = (await machineCpuMs()) - cpuStart.machine;
    const share = (ms: number) => Math.round((ms / machine) * 1000) / 1000;
    const run: BenchRun = {
      started_at,
      quick: opts.quick,
      machine: {
        cpus: os.cpus()[0]?.model ?? 'unknown',
        cores: os.availableParallelism(),
        memory_gb: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        os: `${os.type()} ${os.release()}`,
        note: 'load generator, simulators, API, baseline and PostgreSQL share these cores',
      },
      cpu_shares: [
        { process: 'api', cpu_share: share((await cpuMs(stage.api.pid)) - cpuStart.api) },
        { process: 'baseline', cpu_share: share((await cpuMs(stage.baseline.pid)) - cpuStart.baseline) },
        { process: 'simulators', cpu_share: share((await cpuMs(stage.sim.pid)) - cpuStart.sim) },
        { process: 'load', cpu_share: share(loadCpu.ms) },
        { process: 'postgres', cpu_share: share(dbCpu.ms) },
      ],
      results,
    };
    return run;
  } finally {
    // A 500 in the table is worth its reason: the API's own error lines, which its output buffer would have lost.
    for (const line of stage?.api.errors() ?? []) log(`  API error: ${line}`);
    await stage?.api.stop();
    await stage?.baseline.stop();
    await stage?.sim.stop();
    await db.close();
  }
}

export async function bench(opts: BenchOptions) {
  const run = await runBench(opts);
  log('');
  log(formatTable(run));
  for (const t of targets(run)) log(`${t.met === null ? '—' : t.met ? 'met ' : 'MISS'}  ${t.name}: ${t.measured} (target ${t.target})`);
  const files = await writeReport(run);
  const readme = await updateReadme(run);
  log(`\nwrote ${files.latest}, ${files.dated}, ${files.svg}${readme ? ' and bench/README.md' : ''}`);
}
