/**
 * `npm run bench -- --scenario cpu`: the CPU-bound regime. The partners answer fast (median 5 ms) and
 * each server has sockets to spare, so what limits a server is its own CPU, not a socket pool: the
 * API's event-loop utilisation near 1 at peak shows it. Feed and order, dabba against the bare
 * baseline, in ROUNDS alternating pairs on one stage; a target is met when the median round meets it.
 *
 * `--profile` instead runs each kind once per server under `--cpu-prof` (a fresh process each, warmed
 * up first) and writes bench/results/profile-<kind>.md: busy time by subsystem and by function.
 */
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CpuProfile, type ProfileSummary, summarise } from './profile-summary.ts';
import { runLevel } from './run.ts';
import type { LevelResult } from './report-rows.ts';
import { type Stage, database, startApi, startPartners, startStage } from './stage.ts';
import { type CpuRound, cpuTargets, formatCpuReport, formatProfileReport, roundsOf } from './cpu-report.ts';
import { type WorkersRow, compareWorkers, formatWorkers } from './cpu-workers.ts';

/** Fast partners: a few ms, as a partner in the same region answers when it is healthy. */
const FAST = { median_ms: 5, p99_ms: 20 };
/** Enough sockets that a 5 ms partner never queues: 512 × 200 calls/s each is far past either server's CPU. */
export const SOCKETS = '512';
/** Connections per kind: past the CPU's saturation (a few dozen requests at once keep one core busy), short of dabba's admission limits. */
export const CONNECTIONS = { feed: 32, order: 64 } as const;
const ROUNDS = 3;

const log = (line: string) => process.stdout.write(`${line}\n`);

export async function fastPartners() {
  const partners = await startPartners();
  const control = new URL(partners.env.PAYMENTS_URL!).origin;
  for (const name of ['payments', 'pos', 'eta', 'notify', 'catalog']) {
    const res = await fetch(`${control}/_sim/partners/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(FAST),
    });
    if (!res.ok) throw new Error(`simulator ${name}: ${res.status} ${await res.text()}`);
  }
  return partners;
}

const startCpuStage = (dbUrl: string, partners: Awaited<ReturnType<typeof startPartners>>, flags?: { api: string[]; baseline: string[] }) =>
  startStage(dbUrl, { partners, env: { PARTNER_CONNECTIONS: SOCKETS }, flags });

const level = (kind: 'feed' | 'order', durationS: number) => ({
  scenario: kind,
  kind,
  connections: CONNECTIONS[kind],
  durationS,
  boundLatencyMs: FAST.median_ms,
});

async function warmUp(stage: Stage, kinds: ('feed' | 'order')[]) {
  for (const server of ['dabba', 'baseline'] as const) for (const kind of kinds) await runLevel(stage, server, level(kind, 3));
}

export async function cpuBench(quick: boolean): Promise<boolean> {
  const rounds = quick ? 1 : ROUNDS;
  const durationS = quick ? 2 : 10;
  log(`dabba bench: cpu-bound regime (partners ${FAST.median_ms} ms median, ${SOCKETS} sockets each), ${rounds} round(s) of ${durationS} s`);
  const startedAt = new Date().toISOString();
  const db = await database();
  const partners = await fastPartners();
  let stage: Stage | undefined;
  const results: CpuRound[] = [];
  let workers: WorkersRow[] = [];
  try {
    stage = await startCpuStage(db.url, partners);
    await warmUp(stage, ['feed', 'order']);
    for (let round = 1; round <= rounds; round++) {
      for (const kind of ['feed', 'order'] as const) {
        // Alternating who goes first spreads any drift of the machine over both servers.
        const order = round % 2 ? (['dabba', 'baseline'] as const) : (['baseline', 'dabba'] as const);
        const pair = {} as Record<'dabba' | 'baseline', LevelResult>;
        for (const server of order) pair[server] = await runLevel(stage, server, level(kind, durationS));
        results.push({ round, kind, dabba: pair.dabba, baseline: pair.baseline });
        log(`  round ${round} ${kind}: dabba ${pair.dabba.rps} rps (elu ${pair.dabba.loop_utilization}), baseline ${pair.baseline.rps} rps`);
      }
    }
    const sockets = { PARTNER_CONNECTIONS: SOCKETS, WORKERS: '2' };
    workers = await compareWorkers(stage, () => startApi(db.url, partners.env, sockets), (kind) => level(kind, durationS));
  } finally {
    await stage?.api.stop();
    await stage?.baseline.stop();
    await partners.sim.stop();
    await db.close();
  }
  const summary = { started_at: startedAt, quick, partners: FAST, sockets: Number(SOCKETS), connections: CONNECTIONS, rounds: roundsOf(results), targets: cpuTargets(results), results, workers };
  await mkdir('bench/results', { recursive: true });
  await writeFile(`bench/results/cpu${quick ? '-quick' : ''}.json`, `${JSON.stringify(summary, null, 2)}\n`);
  log(formatCpuReport(results));
  log(`\none process against --workers 2, same levels:\n${formatWorkers(workers)}`);
  return summary.targets.every((t) => t.met !== false);
}

/** The profile a process wrote into dir, kept as test-output/profiles/<name>.cpuprofile for a closer look (Chrome DevTools opens it). */
async function profileOf(dir: string, name: string): Promise<ProfileSummary> {
  const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  await mkdir('test-output/profiles', { recursive: true });
  const kept = `test-output/profiles/${name}.cpuprofile`;
  await copyFile(path.join(dir, file), kept);
  return summarise(JSON.parse(await readFile(kept, 'utf8')) as CpuProfile, 30);
}

/** One kind under `--cpu-prof` on both servers, fresh processes warmed up first; a profile is written when its process stops. */
async function profileKind(dbUrl: string, partners: Awaited<ReturnType<typeof startPartners>>, kind: 'feed' | 'order', durationS: number) {
  const dirs = { dabba: await mkdtemp(path.join(tmpdir(), 'dabba-prof-')), baseline: await mkdtemp(path.join(tmpdir(), 'base-prof-')) };
  const flags = (dir: string) => ['--cpu-prof', '--cpu-prof-dir', dir];
  const stage = await startCpuStage(dbUrl, partners, { api: flags(dirs.dabba), baseline: flags(dirs.baseline) });
  // Every request a process served, warm-up included: its profile covers them all.
  const served = { dabba: 0, baseline: 0 };
  try {
    for (const durations of [3, durationS]) {
      for (const server of ['dabba', 'baseline'] as const) {
        const r = await runLevel(stage, server, level(kind, durations));
        served[server] += Math.round(r.rps * r.duration_s);
      }
    }
  } finally {
    await stage.api.stop();
    await stage.baseline.stop();
  }
  const result = { dabba: await profileOf(dirs.dabba, `${kind}-dabba`), baseline: await profileOf(dirs.baseline, `${kind}-baseline`), served };
  await rm(dirs.dabba, { recursive: true, force: true });
  await rm(dirs.baseline, { recursive: true, force: true });
  return result;
}

export async function cpuProfiles(quick: boolean) {
  const db = await database();
  const partners = await fastPartners();
  try {
    for (const kind of ['feed', 'order'] as const) {
      const p = await profileKind(db.url, partners, kind, quick ? 3 : 10);
      const file = `bench/results/profile-${kind}.md`;
      await writeFile(file, `${formatProfileReport(kind, p)}\n`);
      log(`wrote ${file}`);
    }
  } finally {
    await partners.sim.stop();
    await db.close();
  }
}
