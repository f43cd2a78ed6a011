/**
 * `dabba bench --scenario overhead`: what tracing and the blocked-loop monitor cost. The same feed
 * load runs against API variants that differ only in those switches, in alternating rounds so drift
 * on a shared machine spreads evenly. The load is a fixed offered rate well below saturation: when the
 * cores are saturated, CPU per request mostly measures contention, not the switches.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import type { LoadJob, LoadResult } from './load-requests.ts';
import { cpuMs, runNode } from './processes.ts';
import { CENTER, database, startApi, startPartners } from './stage.ts';

const VARIANTS = [
  { name: 'tracing on, loop monitor on (default)', env: {} },
  { name: 'tracing off', env: { OTEL_SDK_DISABLED: 'true' } },
  { name: 'loop monitor off', env: { BLOCKED_LOOP_THRESHOLD_MS: '0' } },
  { name: 'both off', env: { OTEL_SDK_DISABLED: 'true', BLOCKED_LOOP_THRESHOLD_MS: '0' } },
] as const;

// Shedding stays off so every variant serves the whole load it is offered.
const NO_SHEDDING = { SHED_MAX_LOOP_DELAY_MS: '0' };

const RATE = 60;

async function load(url: string, connections: number, durationS: number): Promise<LoadResult> {
  const job: LoadJob = { url, kind: 'feed', connections, durationS, overallRate: RATE, center: CENTER };
  return JSON.parse(await runNode(['bench/load.ts', JSON.stringify(job)], (durationS + 60) * 1000)) as LoadResult;
}

export async function overhead(quick: boolean) {
  const rounds = quick ? 1 : 3;
  const durationS = quick ? 3 : 8;
  const connections = 100;
  const db = await database();
  const partners = await startPartners();
  const samples = new Map<string, { cpuMs: number; ok: number; seconds: number; p99: number[] }>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const variant of VARIANTS) {
        const { api, url } = await startApi(db.url, partners.env, { ...NO_SHEDDING, ...variant.env });
        try {
          await load(url, connections, quick ? 2 : 3);
          const before = await cpuMs(api.pid);
          const out = await load(url, connections, durationS);
          const cpu = (await cpuMs(api.pid)) - before;
          const s = samples.get(variant.name) ?? { cpuMs: 0, ok: 0, seconds: 0, p99: [] };
          samples.set(variant.name, { cpuMs: s.cpuMs + cpu, ok: s.ok + out.ok, seconds: s.seconds + out.duration_s, p99: [...s.p99, out.p99_ms] });
          process.stdout.write(`  round ${round + 1} ${variant.name}: ${(cpu / out.ok).toFixed(3)} ms CPU/request, ${(out.ok / out.duration_s).toFixed(1)} rps\n`);
        } finally {
          await api.stop();
        }
      }
    }
  } finally {
    await partners.sim.stop();
    await db.close();
  }
  const base = samples.get(VARIANTS[3].name)!;
  const baseCpu = base.cpuMs / base.ok;
  const rows = VARIANTS.map((v) => {
    const s = samples.get(v.name)!;
    const cpu = s.cpuMs / s.ok;
    return {
      variant: v.name,
      cpu_ms_per_request: Math.round(cpu * 1000) / 1000,
      cpu_vs_both_off: Math.round((cpu / baseCpu - 1) * 1000) / 10,
      rps: Math.round((s.ok / s.seconds) * 10) / 10,
      p99_ms: Math.max(...s.p99),
    };
  });
  process.stdout.write('\nvariant                                  CPU ms/req   vs both off   rps    p99 ms\n');
  for (const r of rows) {
    process.stdout.write(
      `${r.variant.padEnd(40)} ${String(r.cpu_ms_per_request).padStart(10)} ${`${r.cpu_vs_both_off >= 0 ? '+' : ''}${r.cpu_vs_both_off}%`.padStart(13)} ${String(r.rps).padStart(6)} ${String(r.p99_ms).padStart(9)}\n`,
    );
  }
  await mkdir('bench/results', { recursive: true });
  const file = 'bench/results/overhead.json';
  await writeFile(file, `${JSON.stringify({ started_at: new Date().toISOString(), quick, offered_rps: RATE, connections, durationS, rounds, rows }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${file}\n`);
}
