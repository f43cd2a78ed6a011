/** The benchmark's result types and the rows of latest.json: each dabba level paired with the baseline's. */
export interface LevelResult {
  scenario: 'feed' | 'order' | 'shed' | 'sweep';
  /** 'closed' = fixed connections at full speed; 'open' = fixed offered rate (coordinated-omission-aware) */
  mode: 'closed' | 'open';
  server: 'dabba' | 'baseline';
  connections: number;
  rps: number; // successful (2xx) responses per second
  p50_ms: number;
  p99_ms: number;
  p999_ms: number; // of successful responses
  errors: Record<string, number>; // by kind, e.g. { '503': 120, 'timeout': 3, 'econnreset': 1, '500': 0 }
  rss_mb: number; // peak RSS of the server process during the run
  cpu_ms_per_request: number; // server process CPU (user+system) / successful responses
  db_cpu_ms_per_request: number; // CPU of every PostgreSQL process during the run / successful responses
  offered_rps: number | null; // null for closed-loop runs
  loop_delay_p99_ms: number | null; // server's event-loop delay p99 during the run (null for the baseline)
  loop_utilization?: number | null; // server's event-loop utilisation during the run (null for the baseline)
  cpu_utilization?: number; // server process CPU during the run / the run's wall time (1 = one core)
  bound_rps: number; // Little's law: connections / expected latency of the partner calls
  duration_s: number;
  shed_share?: number; // fraction of responses that were 503 (shed runs)
}
export interface MachineInfo {
  cpus: string;
  cores: number;
  memory_gb: number;
  node: string;
  os: string;
  note: string;
}
export interface CpuShare {
  process: 'api' | 'baseline' | 'simulators' | 'load' | 'postgres';
  cpu_share: number; // fraction of machine CPU during the runs
}
export interface BenchRun {
  started_at: string;
  quick: boolean;
  machine: MachineInfo;
  cpu_shares: CpuShare[];
  results: LevelResult[];
}

/** One dabba level with its baseline counterpart folded in (a row of latest.json). */
export interface Row {
  scenario: LevelResult['scenario'];
  mode: LevelResult['mode'];
  connections: number;
  offered_rps: number | null;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  errors: Record<string, number>;
  rss_mb: number;
  cpu_ms_per_request: number;
  /** PostgreSQL's CPU per successful response: the database work a request costs */
  db_cpu_ms_per_request: number | null;
  loop_delay_p99_ms: number | null;
  bound_rps: number;
  /** rps / bound_rps */
  ratio_to_bound: number | null;
  baseline_rps: number | null;
  baseline_p99_ms: number | null;
  baseline_rss_mb: number | null;
  baseline_cpu_ms_per_request: number | null;
  baseline_db_cpu_ms_per_request: number | null;
  /** rps / baseline_rps; null without a baseline at this level */
  ratio_to_baseline: number | null;
  /** p99_ms / baseline_p99_ms on open-loop rows (same offered rate, so latency is the comparison); null on closed-loop rows */
  p99_ratio_to_baseline: number | null;
  shed_share?: number;
  duration_s: number;
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  /** null when the run lacks the data (quick runs, a missing baseline, …) */
  met: boolean | null;
}

/** 3 significant digits below 100 (12.3, 1.23, 0.0123), whole numbers from 100 up. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x);
  const decimals = Math.min(6, 2 - Math.floor(Math.log10(a)));
  return Number(x.toFixed(decimals));
}

export function roundOrNull(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : round(x);
}

export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return round(a / b);
}

/** For display: rounded, or an em dash for a missing value. */
export function fmt(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : String(round(x));
}

export function pct(share: number): string {
  return Number.isFinite(share) ? `${Math.round(share * 100)}%` : '—';
}

const SCENARIO_ORDER: LevelResult['scenario'][] = ['feed', 'order', 'shed', 'sweep'];

export function levelKey(r: LevelResult): string {
  const offered = r.offered_rps === null ? '-' : String(Math.round(r.offered_rps * 1000) / 1000);
  return `${r.scenario}|${r.mode}|${r.connections}|${offered}`;
}

export function compareLevels(a: LevelResult, b: LevelResult): number {
  return (
    SCENARIO_ORDER.indexOf(a.scenario) - SCENARIO_ORDER.indexOf(b.scenario) ||
    (a.mode === b.mode ? 0 : a.mode === 'closed' ? -1 : 1) ||
    a.connections - b.connections ||
    (a.offered_rps ?? 0) - (b.offered_rps ?? 0)
  );
}

export function cleanErrors(errors: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, n] of Object.entries(errors ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    out[kind] = Number.isFinite(n) ? n : 0;
  }
  return out;
}

/** One row per dabba result, ordered by scenario, mode (closed first), connections, offered rate. */
export function toRows(run: BenchRun): Row[] {
  const baselines = new Map<string, LevelResult>();
  for (const r of run.results) if (r.server === 'baseline') baselines.set(levelKey(r), r);

  return run.results
    .filter((r) => r.server === 'dabba')
    .sort(compareLevels)
    .map((r) => {
      const b = baselines.get(levelKey(r));
      const row: Row = {
        scenario: r.scenario,
        mode: r.mode,
        connections: r.connections,
        offered_rps: roundOrNull(r.offered_rps),
        rps: round(r.rps),
        p50_ms: round(r.p50_ms),
        p99_ms: round(r.p99_ms),
        p999_ms: round(r.p999_ms),
        errors: cleanErrors(r.errors),
        rss_mb: round(r.rss_mb),
        cpu_ms_per_request: round(r.cpu_ms_per_request),
        db_cpu_ms_per_request: roundOrNull(r.db_cpu_ms_per_request),
        loop_delay_p99_ms: roundOrNull(r.loop_delay_p99_ms),
        bound_rps: round(r.bound_rps),
        ratio_to_bound: ratio(r.rps, r.bound_rps),
        baseline_rps: roundOrNull(b?.rps),
        baseline_p99_ms: roundOrNull(b?.p99_ms),
        baseline_rss_mb: roundOrNull(b?.rss_mb),
        baseline_cpu_ms_per_request: roundOrNull(b?.cpu_ms_per_request),
        baseline_db_cpu_ms_per_request: roundOrNull(b?.db_cpu_ms_per_request),
        ratio_to_baseline: ratio(r.rps, b?.rps),
        p99_ratio_to_baseline: r.mode === 'open' ? ratio(r.p99_ms, b?.p99_ms) : null,
        duration_s: round(r.duration_s),
      };
      if (r.shed_share !== undefined) row.shed_share = round(r.shed_share);
      return row;
    });
}

/** `503:120 timeout:3`, largest first; `0` when there were none. */
export function compactErrors(errors: Record<string, number>): string {
  const parts = Object.entries(errors ?? {})
    .filter(([, n]) => Number.isFinite(n) && n > 0)
    .sort(([ka, a], [kb, b]) => b - a || ka.localeCompare(kb))
    .map(([kind, n]) => `${kind}:${n}`);
  return parts.length ? parts.join(' ') : '0';
}

export function runDate(startedAt: string): string {
  const t = new Date(startedAt);
  if (Number.isNaN(t.getTime())) return startedAt;
  return `${t.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
