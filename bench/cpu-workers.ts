/**
 * `--workers 2` against one process in the CPU-bound regime: the same feed and order levels on a
 * second API started with WORKERS=2 beside the single-process one, taking turns, CPU and memory
 * counted over the primary and its workers. On a machine whose cores the load generator, PostgreSQL
 * and the simulators share, a second worker can only win what the first leaves idle.
 */
import type { LevelResult } from './report-rows.ts';
import { type RunSpec, runLevel } from './run.ts';
import type { Stage } from './stage.ts';

export interface WorkersRow {
  kind: 'feed' | 'order';
  workers: 1 | 2;
  rps: number;
  p99_ms: number;
  cpu_ms_per_request: number;
  /** CPU time of the primary and its workers over wall time: 1 = one core busy. */
  cpu_utilization: number | undefined;
  rss_mb: number;
  errors: Record<string, number>;
}

const row = (kind: WorkersRow['kind'], workers: WorkersRow['workers'], r: LevelResult): WorkersRow => ({
  kind,
  workers,
  rps: r.rps,
  p99_ms: r.p99_ms,
  cpu_ms_per_request: r.cpu_ms_per_request,
  cpu_utilization: r.cpu_utilization,
  rss_mb: r.rss_mb,
  errors: r.errors,
});

export async function compareWorkers(
  single: Stage,
  startTwo: () => Promise<{ api: Stage['api']; url: string }>,
  level: (kind: 'feed' | 'order') => RunSpec,
): Promise<WorkersRow[]> {
  const two = await startTwo();
  const both: Stage = { ...single, api: two.api, urls: { ...single.urls, dabba: two.url } };
  const rows: WorkersRow[] = [];
  try {
    for (const kind of ['feed', 'order'] as const) await runLevel(both, 'dabba', { ...level(kind), durationS: 3 });
    for (const kind of ['feed', 'order'] as const) {
      rows.push(row(kind, 1, await runLevel(single, 'dabba', level(kind))));
      rows.push(row(kind, 2, await runLevel(both, 'dabba', level(kind))));
    }
  } finally {
    await two.api.stop();
  }
  return rows;
}

export function formatWorkers(rows: WorkersRow[]): string {
  const lines = ['| kind | workers | rps | p99 ms | CPU ms/req | CPU use (cores) | RSS MB | errors |', '|---|---:|---:|---:|---:|---:|---:|---|'];
  for (const r of rows) {
    const errors = Object.entries(r.errors).map(([k, n]) => `${k}:${n}`).join(' ') || '0';
    lines.push(`| ${r.kind} | ${r.workers} | ${r.rps} | ${r.p99_ms} | ${r.cpu_ms_per_request} | ${r.cpu_utilization ?? '—'} | ${r.rss_mb} | ${errors} |`);
  }
  return lines.join('\n');
}
