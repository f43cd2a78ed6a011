/** The CPU-bound regime's rounds, its targets (met by the median round) and its Markdown. */
import type { ProfileSummary } from './profile-summary.ts';
import type { LevelResult, Target } from './report-rows.ts';

export interface CpuRound {
  round: number;
  kind: 'feed' | 'order';
  dabba: LevelResult;
  baseline: LevelResult;
}

const TARGETS = {
  feed: { throughput: 0.75, cpu: 1.35 },
  order: { throughput: 0.7, cpu: 2 },
} as const;

const round3 = (n: number) => Math.round(n * 1000) / 1000;

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Each round's ratios: throughput (dabba / baseline, higher is better) and CPU per request (lower is better). */
export function roundsOf(results: CpuRound[]) {
  return results.map((r) => ({
    round: r.round,
    kind: r.kind,
    throughput_ratio: r.baseline.rps > 0 ? round3(r.dabba.rps / r.baseline.rps) : null,
    cpu_ratio: r.baseline.cpu_ms_per_request > 0 && r.dabba.rps > 0 ? round3(r.dabba.cpu_ms_per_request / r.baseline.cpu_ms_per_request) : null,
    dabba_loop_utilization: r.dabba.loop_utilization ?? null,
  }));
}

function spread(values: number[]) {
  return { median: round3(median(values)), min: round3(Math.min(...values)), max: round3(Math.max(...values)) };
}

export function cpuTargets(results: CpuRound[]): Target[] {
  const rounds = roundsOf(results);
  const out: Target[] = [];
  for (const kind of ['feed', 'order'] as const) {
    const of = rounds.filter((r) => r.kind === kind);
    const throughput = of.map((r) => r.throughput_ratio).filter((v) => v !== null);
    const cpu = of.map((r) => r.cpu_ratio).filter((v) => v !== null);
    const goal = TARGETS[kind];
    const name = (what: string) => `cpu-bound ${kind} ${what}`;
    if (!throughput.length) out.push({ name: name('peak throughput'), target: `≥ ${goal.throughput} × baseline`, measured: 'no rounds', met: null });
    else {
      const s = spread(throughput);
      out.push({
        name: name('peak throughput'),
        target: `median ≥ ${goal.throughput} × baseline`,
        measured: `${s.median}× (${s.min}–${s.max} over ${throughput.length} rounds)`,
        met: s.median >= goal.throughput,
      });
    }
    if (!cpu.length) out.push({ name: name('API CPU per request'), target: `≤ ${goal.cpu} × baseline`, measured: 'no rounds', met: null });
    else {
      const s = spread(cpu);
      out.push({
        name: name('API CPU per request'),
        target: `median ≤ ${goal.cpu} × baseline`,
        measured: `${s.median}× (${s.min}–${s.max} over ${cpu.length} rounds)`,
        met: s.median <= goal.cpu,
      });
    }
  }
  return out;
}

const cell = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '—' : String(Math.round(v * 10 ** digits) / 10 ** digits));

export function formatCpuReport(results: CpuRound[]): string {
  const lines = [
    '| round | kind | conns | dabba rps | baseline rps | × | dabba CPU ms/req | baseline CPU ms/req | × | dabba loop utilisation | baseline CPU use | dabba p99 ms | baseline p99 ms | dabba errors |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const rounds = roundsOf(results);
  results.forEach((r, i) => {
    const q = rounds[i]!;
    const errors = Object.entries(r.dabba.errors).map(([k, n]) => `${k}:${n}`).join(' ') || '0';
    lines.push(
      `| ${r.round} | ${r.kind} | ${r.dabba.connections} | ${r.dabba.rps} | ${r.baseline.rps} | ${cell(q.throughput_ratio)} | ${cell(r.dabba.cpu_ms_per_request)} | ${cell(r.baseline.cpu_ms_per_request)} | ${cell(q.cpu_ratio)} | ${cell(r.dabba.loop_utilization)} | ${cell(r.baseline.cpu_utilization)} | ${r.dabba.p99_ms} | ${r.baseline.p99_ms} | ${errors} |`,
    );
  });
  lines.push('', '| target | goal | measured | met |', '|---|---|---|---|');
  for (const t of cpuTargets(results)) lines.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? '—' : t.met ? '✅' : '❌'} |`);
  return lines.join('\n');
}

/** dabba's and the baseline's profiles of one kind side by side, in ms of busy time per request served. */
export function formatProfileReport(kind: string, p: { dabba: ProfileSummary; baseline: ProfileSummary; served: { dabba: number; baseline: number } }): string {
  const per = (s: ProfileSummary, served: number, name: string) => {
    const row = s.subsystems.find((r) => r.name === name);
    return row && served ? (row.ms / served).toFixed(3) : '—';
  };
  const names = [...new Set([...p.dabba.subsystems, ...p.baseline.subsystems].map((r) => r.name))];
  const busy = (s: ProfileSummary, served: number) => (served ? (s.busy_ms / served).toFixed(3) : '—');
  const lines = [
    `# CPU profile: ${kind}, cpu-bound regime`,
    '',
    `Busy time (CPU samples, idle excluded) per request served, warm-up included: dabba ${p.served.dabba} requests, baseline ${p.served.baseline}.`,
    'A sample counts for the innermost frame that belongs to a subsystem (a socket write pg asks for is database time).',
    '',
    '| subsystem | dabba ms/req | dabba share | baseline ms/req |',
    '|---|---:|---:|---:|',
    `| **all busy time** | **${busy(p.dabba, p.served.dabba)}** | 100% | **${busy(p.baseline, p.served.baseline)}** |`,
    ...names.map((n) => {
      const share = p.dabba.subsystems.find((r) => r.name === n)?.share;
      return `| ${n} | ${per(p.dabba, p.served.dabba, n)} | ${share === undefined ? '—' : `${(share * 100).toFixed(1)}%`} | ${per(p.baseline, p.served.baseline, n)} |`;
    }),
    '',
    '## dabba: top functions by self time',
    '',
    '| function | share |',
    '|---|---:|',
    ...p.dabba.functions.map((f) => `| \`${f.name.replaceAll('|', '\\|')}\` | ${(f.share * 100).toFixed(1)}% |`),
  ];
  return lines.join('\n');
}
