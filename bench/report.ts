/**
 * Reporting for `npm run bench`: turns a BenchRun (what bench/run.ts measured) into the rows of
 * bench/results/latest.json, a terminal table, a Markdown table, the target checks, an SVG chart of
 * feed throughput and p99 against concurrency, and the results section of bench/README.md.
 *
 * Everything except writeReport and updateReadme is a pure function of the run.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

// ---------------------------------------------------------------------------------------------
// Input (what the runner produces)

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
  offered_rps: number | null; // null for closed-loop runs
  loop_delay_p99_ms: number | null; // server's event-loop delay p99 during the run (null for the baseline)
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

// ---------------------------------------------------------------------------------------------
// Output

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
  loop_delay_p99_ms: number | null;
  bound_rps: number;
  /** rps / bound_rps */
  ratio_to_bound: number | null;
  baseline_rps: number | null;
  baseline_p99_ms: number | null;
  baseline_rss_mb: number | null;
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

// ---------------------------------------------------------------------------------------------
// Numbers

/** 3 significant digits below 100 (12.3, 1.23, 0.0123), whole numbers from 100 up. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x);
  const decimals = Math.min(6, 2 - Math.floor(Math.log10(a)));
  return Number(x.toFixed(decimals));
}

function roundOrNull(x: number | null | undefined): number | null {
  return x === null || x === undefined || !Number.isFinite(x) ? null : round(x);
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return round(a / b);
}

/** For display: rounded, or an em dash for a missing value. */
function fmt(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : String(round(x));
}

function pct(share: number): string {
  return Number.isFinite(share) ? `${Math.round(share * 100)}%` : '—';
}

// ---------------------------------------------------------------------------------------------
// Rows

const SCENARIO_ORDER: LevelResult['scenario'][] = ['feed', 'order', 'shed', 'sweep'];

function levelKey(r: LevelResult): string {
  const offered = r.offered_rps === null ? '-' : String(Math.round(r.offered_rps * 1000) / 1000);
  return `${r.scenario}|${r.mode}|${r.connections}|${offered}`;
}

function compareLevels(a: LevelResult, b: LevelResult): number {
  return (
    SCENARIO_ORDER.indexOf(a.scenario) - SCENARIO_ORDER.indexOf(b.scenario) ||
    (a.mode === b.mode ? 0 : a.mode === 'closed' ? -1 : 1) ||
    a.connections - b.connections ||
    (a.offered_rps ?? 0) - (b.offered_rps ?? 0)
  );
}

function cleanErrors(errors: Record<string, number>): Record<string, number> {
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
        loop_delay_p99_ms: roundOrNull(r.loop_delay_p99_ms),
        bound_rps: round(r.bound_rps),
        ratio_to_bound: ratio(r.rps, r.bound_rps),
        baseline_rps: roundOrNull(b?.rps),
        baseline_p99_ms: roundOrNull(b?.p99_ms),
        baseline_rss_mb: roundOrNull(b?.rss_mb),
        ratio_to_baseline: ratio(r.rps, b?.rps),
        p99_ratio_to_baseline: r.mode === 'open' ? ratio(r.p99_ms, b?.p99_ms) : null,
        duration_s: round(r.duration_s),
      };
      if (r.shed_share !== undefined) row.shed_share = round(r.shed_share);
      return row;
    });
}

// ---------------------------------------------------------------------------------------------
// Tables

/** `503:120 timeout:3`, largest first; `0` when there were none. */
export function compactErrors(errors: Record<string, number>): string {
  const parts = Object.entries(errors ?? {})
    .filter(([, n]) => Number.isFinite(n) && n > 0)
    .sort(([ka, a], [kb, b]) => b - a || ka.localeCompare(kb))
    .map(([kind, n]) => `${kind}:${n}`);
  return parts.length ? parts.join(' ') : '0';
}

interface Column {
  header: string;
  numeric: boolean;
  cell: (row: Row) => string;
}

const COLUMNS: Column[] = [
  { header: 'scenario', numeric: false, cell: (r) => r.scenario },
  { header: 'mode', numeric: false, cell: (r) => r.mode },
  { header: 'conns', numeric: true, cell: (r) => String(r.connections) },
  { header: 'offered', numeric: true, cell: (r) => fmt(r.offered_rps) },
  { header: 'rps', numeric: true, cell: (r) => fmt(r.rps) },
  { header: 'p50', numeric: true, cell: (r) => fmt(r.p50_ms) },
  { header: 'p99', numeric: true, cell: (r) => fmt(r.p99_ms) },
  { header: 'p99.9', numeric: true, cell: (r) => fmt(r.p999_ms) },
  { header: 'errors', numeric: false, cell: (r) => compactErrors(r.errors) },
  { header: 'rss MB', numeric: true, cell: (r) => fmt(r.rss_mb) },
  { header: 'cpu ms/req', numeric: true, cell: (r) => fmt(r.cpu_ms_per_request) },
  { header: 'loop p99', numeric: true, cell: (r) => fmt(r.loop_delay_p99_ms) },
  { header: 'bound', numeric: true, cell: (r) => fmt(r.bound_rps) },
  { header: '×bound', numeric: true, cell: (r) => fmt(r.ratio_to_bound) },
  { header: 'baseline rps', numeric: true, cell: (r) => fmt(r.baseline_rps) },
  { header: '×baseline', numeric: true, cell: (r) => fmt(r.ratio_to_baseline) },
  { header: 'p99 ×baseline', numeric: true, cell: (r) => fmt(r.p99_ratio_to_baseline) },
];

/** Fixed-width table for the terminal: one line per dabba level, baseline folded in. Latencies in ms. */
export function formatTable(run: BenchRun): string {
  const rows = toRows(run);
  const cells = rows.map((row) => COLUMNS.map((c) => c.cell(row)));
  const widths = COLUMNS.map((c, i) => Math.max(c.header.length, ...cells.map((line) => line[i]!.length)));
  const pad = (text: string, i: number) =>
    COLUMNS[i]!.numeric ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const line = (texts: string[]) => texts.map(pad).join('  ').trimEnd();
  return [
    line(COLUMNS.map((c) => c.header)),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(line),
  ].join('\n');
}

function mdCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The same table in Markdown (numeric columns right-aligned). */
export function formatMarkdownTable(run: BenchRun): string {
  const rows = toRows(run);
  return [
    `| ${COLUMNS.map((c) => mdCell(c.header)).join(' | ')} |`,
    `|${COLUMNS.map((c) => (c.numeric ? '---:' : ':---')).join('|')}|`,
    ...rows.map((row) => `| ${COLUMNS.map((c) => mdCell(c.cell(row))).join(' | ')} |`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Targets

function select(
  run: BenchRun,
  server: LevelResult['server'],
  scenario: LevelResult['scenario'],
  mode?: LevelResult['mode'],
): LevelResult[] {
  return run.results.filter(
    (r) => r.server === server && r.scenario === scenario && (mode === undefined || r.mode === mode),
  );
}

function maxBy(results: LevelResult[], value: (r: LevelResult) => number | null): LevelResult | undefined {
  let best: LevelResult | undefined;
  for (const r of results) {
    const v = value(r);
    if (v === null || !Number.isFinite(v)) continue;
    const bv = best ? value(best) : null;
    if (best === undefined || bv === null || v > bv) best = r;
  }
  return best;
}

function errorTotal(r: LevelResult): number {
  return Object.values(r.errors ?? {}).reduce((sum, n) => sum + (Number.isFinite(n) ? n : 0), 0);
}

function withErrors(r: LevelResult, text: string): string {
  const total = errorTotal(r);
  return total > 0 ? `${text}; errors ${compactErrors(r.errors)}` : text;
}

function missing(name: string, target: string, why: string): Target {
  return { name, target, measured: why, met: null };
}

/** Peak throughput target: max closed-loop rps of dabba ≥ factor × baseline's. */
function peakTarget(run: BenchRun, scenario: 'feed' | 'order', factor: number): Target {
  const name = `${scenario} peak throughput`;
  const target = `≥ ${factor} × baseline peak`;
  const d = maxBy(select(run, 'dabba', scenario, 'closed'), (r) => r.rps);
  const b = maxBy(select(run, 'baseline', scenario, 'closed'), (r) => r.rps);
  if (!d) return missing(name, target, `no closed-loop ${scenario} run`);
  if (!b || !(b.rps > 0)) return missing(name, target, `no baseline ${scenario} run`);
  return {
    name,
    target,
    measured: withErrors(
      d,
      `${fmt(d.rps)} rps (${d.connections} conns) vs baseline ${fmt(b.rps)} rps (${b.connections} conns): ${fmt(d.rps / b.rps)}×`,
    ),
    met: d.rps >= factor * b.rps,
  };
}

/** Evaluates the stated targets; met is null where the run lacks the data. */
export function targets(run: BenchRun): Target[] {
  const out: Target[] = [];

  out.push(peakTarget(run, 'feed', 0.8));

  {
    const name = 'feed p99 at 80% of baseline peak rate';
    const target = '≤ 1.5 × baseline p99 at the same offered rate';
    const d = maxBy(select(run, 'dabba', 'feed', 'open'), (r) => r.offered_rps);
    const b = d && run.results.find((r) => r.server === 'baseline' && levelKey(r) === levelKey(d));
    if (!d) out.push(missing(name, target, 'no open-loop feed run'));
    else if (!b || !(b.p99_ms > 0)) out.push(missing(name, target, `no baseline run at ${fmt(d.offered_rps)} rps`));
    else
      out.push({
        name,
        target,
        measured: withErrors(
          d,
          `p99 ${fmt(d.p99_ms)} ms vs baseline ${fmt(b.p99_ms)} ms at ${fmt(d.offered_rps)} rps offered: ${fmt(d.p99_ms / b.p99_ms)}×`,
        ),
        met: d.p99_ms <= 1.5 * b.p99_ms,
      });
  }

  out.push(peakTarget(run, 'order', 0.6));

  {
    const name = 'API memory at the highest feed concurrency';
    const target = 'RSS ≤ baseline RSS at that level';
    const dabba = select(run, 'dabba', 'feed', 'closed');
    const baseline = select(run, 'baseline', 'feed', 'closed');
    const common = dabba.filter((d) => baseline.some((b) => b.connections === d.connections));
    const d = maxBy(common, (r) => r.connections);
    const b = d && baseline.find((r) => r.connections === d.connections);
    if (!dabba.length) out.push(missing(name, target, 'no closed-loop feed run'));
    else if (!d || !b) out.push(missing(name, target, 'no baseline feed run at the same concurrency'));
    else
      out.push({
        name,
        target,
        measured: `${fmt(d.rss_mb)} MB vs baseline ${fmt(b.rss_mb)} MB at ${d.connections} conns`,
        met: d.rss_mb <= b.rss_mb,
      });
  }

  const shed = maxBy(select(run, 'dabba', 'shed'), (r) => r.offered_rps ?? r.connections);
  {
    const name = 'shed goodput';
    const target = '≥ 0.9 × dabba feed peak';
    const peak = maxBy(select(run, 'dabba', 'feed', 'closed'), (r) => r.rps);
    if (!shed) out.push(missing(name, target, 'no shed run'));
    else if (!peak || !(peak.rps > 0)) out.push(missing(name, target, 'no closed-loop feed run'));
    else {
      const share = shed.shed_share === undefined ? '' : `, ${pct(shed.shed_share)} shed`;
      out.push({
        name,
        target,
        measured: `${fmt(shed.rps)} rps vs feed peak ${fmt(peak.rps)} rps: ${fmt(shed.rps / peak.rps)}×${share}`,
        met: shed.rps >= 0.9 * peak.rps,
      });
    }
  }

  {
    const name = 'shed accepted p99';
    const target = '≤ 2 × unloaded feed p99';
    const closedFeed = select(run, 'dabba', 'feed', 'closed').filter((r) => Number.isFinite(r.p99_ms));
    const unloaded = maxBy(closedFeed, (r) => -r.connections);
    if (!shed) out.push(missing(name, target, 'no shed run'));
    else if (!unloaded || !(unloaded.p99_ms > 0)) out.push(missing(name, target, 'no closed-loop feed run'));
    else
      out.push({
        name,
        target,
        measured: `p99 ${fmt(shed.p99_ms)} ms vs unloaded ${fmt(unloaded.p99_ms)} ms (${unloaded.connections} conns): ${fmt(shed.p99_ms / unloaded.p99_ms)}×`,
        met: shed.p99_ms <= 2 * unloaded.p99_ms,
      });
  }

  return out;
}

// ---------------------------------------------------------------------------------------------
// SVG

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const SVG_TITLE = 'feed: throughput and p99 against concurrency';
const SERIES: { server: LevelResult['server']; color: string; dash: string }[] = [
  { server: 'dabba', color: '#d9480f', dash: '' },
  { server: 'baseline', color: '#1c7ed6', dash: '6 4' },
];

/** A coordinate for the SVG: one decimal, never NaN. */
function c(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0';
}

function niceStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

function tickLabel(v: number): string {
  const clean = (x: number) => String(Number(x.toPrecision(6)));
  return Math.abs(v) >= 1000 ? `${clean(v / 1000)}k` : clean(v);
}

/** Feed points per server, by connections: 'sweep' results, then closed 'feed' ones where the sweep has none. */
function feedSeries(run: BenchRun, server: LevelResult['server']): LevelResult[] {
  const byConns = new Map<number, LevelResult>();
  const usable = (r: LevelResult) => r.server === server && Number.isFinite(r.connections) && r.connections > 0;
  for (const r of run.results) if (usable(r) && r.scenario === 'sweep') byConns.set(r.connections, r);
  for (const r of run.results) {
    if (usable(r) && r.scenario === 'feed' && r.mode === 'closed' && !byConns.has(r.connections)) {
      byConns.set(r.connections, r);
    }
  }
  return [...byConns.values()].sort((a, b) => a.connections - b.connections);
}

/** Standalone SVG, two panels: feed rps and p99 against connections (log x), one line per server. */
export function renderSvg(run: BenchRun): string {
  const W = 900;
  const H = 420;
  const top = 86;
  const bottom = 350;
  const series = SERIES.map((s) => ({ ...s, points: feedSeries(run, s.server) }));
  const allConns = series.flatMap((s) => s.points.map((p) => p.connections));
  const xMin = Math.min(10, ...allConns);
  const xMax = Math.max(5000, ...allConns);
  const lx0 = Math.log10(xMin);
  const lx1 = Math.log10(xMax);
  const xTicks = [1, 2, 5]
    .flatMap((m) => [1, 10, 100, 1000, 10000, 100000].map((p) => m * p))
    .filter((t) => t >= xMin && t <= xMax)
    .sort((a, b) => a - b);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<title>${escapeXml(SVG_TITLE)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="28" font-size="16" font-weight="600" fill="#212529">${escapeXml(SVG_TITLE)}</text>`,
  );
  const when = run.started_at ? `${runDate(run.started_at)} · ` : '';
  const subtitle = `${when}${run.quick ? 'quick' : 'full'} run · ${run.machine?.cpus ?? ''} (${run.machine?.cores ?? '?'} cores) · Node ${run.machine?.node ?? ''}`;
  out.push(`<text x="20" y="48" fill="#6c757d">${escapeXml(subtitle)}</text>`);

  // legend
  SERIES.forEach((s, i) => {
    const x = 700 + i * 100;
    out.push(
      `<g class="legend legend-${s.server}">`,
      `<line x1="${x}" y1="24" x2="${x + 24}" y2="24" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      `<circle cx="${x + 12}" cy="24" r="3" fill="${s.color}"/>`,
      `<text x="${x + 30}" y="28" fill="#212529">${escapeXml(s.server)}</text>`,
      '</g>',
    );
  });

  const panels: { title: string; unit: string; value: (r: LevelResult) => number }[] = [
    { title: 'throughput', unit: 'successful responses per second', value: (r) => r.rps },
    { title: 'p99 latency', unit: 'p99 latency (ms)', value: (r) => r.p99_ms },
  ];
  panels.forEach((panel, i) => {
    const left = i * 450 + 70;
    const right = i * 450 + 430;
    const values = series.flatMap((s) => s.points.map(panel.value)).filter((v) => Number.isFinite(v) && v >= 0);
    const vMax = values.length ? Math.max(...values) : 0;
    const step = niceStep(vMax > 0 ? vMax * 1.05 : 1, 5);
    const yMax = Math.max(step, Math.ceil((vMax * 1.05) / step) * step);
    const sx = (conns: number) => left + ((Math.log10(conns) - lx0) / (lx1 - lx0 || 1)) * (right - left);
    const sy = (v: number) => bottom - (v / yMax) * (bottom - top);

    out.push(`<g class="panel panel-${i === 0 ? 'rps' : 'p99'}">`);
    out.push(
      `<text x="${left}" y="${top - 12}" font-size="13" font-weight="600" fill="#212529">${escapeXml(panel.title)}</text>`,
    );
    // grid and y ticks
    for (let v = 0; v <= yMax + step / 2; v += step) {
      const y = sy(v);
      out.push(
        `<line x1="${left}" y1="${c(y)}" x2="${right}" y2="${c(y)}" stroke="#e9ecef"/>`,
        `<text x="${left - 6}" y="${c(y + 4)}" text-anchor="end" fill="#495057">${escapeXml(tickLabel(v))}</text>`,
      );
    }
    // x ticks
    for (const t of xTicks) {
      const x = sx(t);
      out.push(
        `<line x1="${c(x)}" y1="${bottom}" x2="${c(x)}" y2="${bottom + 5}" stroke="#495057"/>`,
        `<line x1="${c(x)}" y1="${top}" x2="${c(x)}" y2="${bottom}" stroke="#f1f3f5"/>`,
        `<text x="${c(x)}" y="${bottom + 18}" text-anchor="middle" fill="#495057">${escapeXml(tickLabel(t))}</text>`,
      );
    }
    // axes
    out.push(
      `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#495057"/>`,
      `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#495057"/>`,
      `<text x="${(left + right) / 2}" y="${bottom + 40}" text-anchor="middle" fill="#212529">concurrent connections (log scale)</text>`,
      `<text transform="translate(${left - 52} ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#212529">${escapeXml(panel.unit)}</text>`,
    );
    // series
    for (const s of series) {
      const pts = s.points.filter((p) => Number.isFinite(panel.value(p)) && panel.value(p) >= 0);
      out.push(`<g class="series series-${s.server}">`);
      if (pts.length > 1) {
        const d = pts.map((p, j) => `${j ? 'L' : 'M'}${c(sx(p.connections))} ${c(sy(panel.value(p)))}`).join(' ');
        out.push(
          `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
        );
      }
      for (const p of pts) {
        const label = `${s.server}, ${p.connections} connections: ${fmt(panel.value(p))} ${i === 0 ? 'rps' : 'ms'}`;
        out.push(
          `<circle cx="${c(sx(p.connections))}" cy="${c(sy(panel.value(p)))}" r="3.5" fill="${s.color}"><title>${escapeXml(label)}</title></circle>`,
        );
      }
      out.push('</g>');
    }
    if (!values.length) {
      out.push(
        `<text x="${(left + right) / 2}" y="${(top + bottom) / 2}" text-anchor="middle" fill="#adb5bd">no data</text>`,
      );
    }
    out.push('</g>');
  });

  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Files

/** `2025-06-01T14-03-05` (UTC) from started_at, or now when started_at doesn't parse. */
function stamp(startedAt: string): string {
  const t = new Date(startedAt);
  const d = Number.isNaN(t.getTime()) ? new Date() : t;
  return d.toISOString().slice(0, 19).replace(/:/g, '-');
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** latest.json, a dated copy of it and feed-concurrency.svg in dir (created when missing). */
export async function writeReport(
  run: BenchRun,
  dir = 'bench/results',
): Promise<{ latest: string; dated: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const report = {
    started_at: run.started_at,
    quick: run.quick,
    machine: run.machine,
    cpu_shares: run.cpu_shares,
    targets: targets(run),
    rows: toRows(run),
  };
  const json = JSON.stringify(report, null, 2) + '\n';
  const latest = path.join(dir, 'latest.json');
  const dated = path.join(dir, `${stamp(run.started_at)}.json`);
  const svg = path.join(dir, 'feed-concurrency.svg');
  await writeAtomically(latest, json);
  await writeAtomically(dated, json);
  await writeAtomically(svg, renderSvg(run));
  return { latest, dated, svg };
}

export const RESULTS_START = '<!-- bench:results:start -->';
export const RESULTS_END = '<!-- bench:results:end -->';

function runDate(startedAt: string): string {
  const t = new Date(startedAt);
  if (Number.isNaN(t.getTime())) return startedAt;
  return `${t.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function mark(met: boolean | null): string {
  return met === true ? '✅' : met === false ? '❌' : '—';
}

/** The Markdown that goes between the results markers of bench/README.md. */
export function formatResultsSection(run: BenchRun): string {
  const m = run.machine;
  const machine = `${m.cpus} (${m.cores} cores), ${fmt(m.memory_gb)} GB RAM, Node ${m.node}, ${m.os}${m.note ? ` (${m.note})` : ''}`;
  const shares = run.cpu_shares.length
    ? run.cpu_shares.map((s) => `${s.process} ${pct(s.cpu_share)}`).join(', ')
    : 'not measured';
  const targetRows = targets(run).map(
    (t) => `| ${mdCell(t.name)} | ${mdCell(t.target)} | ${mdCell(t.measured)} | ${mark(t.met)} |`,
  );
  return [
    `Run of ${runDate(run.started_at)}, ${run.quick ? 'quick' : 'full'} run.`,
    '',
    `**Machine:** ${machine}.`,
    '',
    `**CPU share of the machine during the runs:** ${shares}.`,
    '',
    'Latencies in ms; rows are dabba, with the baseline at the same level folded in.',
    '',
    formatMarkdownTable(run),
    '',
    '**Targets**',
    '',
    '| target | goal | measured | met |',
    '|:---|:---|:---|:---:|',
    ...targetRows,
    '',
    `![${SVG_TITLE}](results/feed-concurrency.svg)`,
  ].join('\n');
}

/**
 * Replaces the text between the results markers of the README with this run's results.
 * Quick runs leave the document alone and return false.
 */
export async function updateReadme(run: BenchRun, readmePath = 'bench/README.md'): Promise<boolean> {
  if (run.quick) return false;
  const text = await readFile(readmePath, 'utf8');
  const start = text.indexOf(RESULTS_START);
  const end = text.indexOf(RESULTS_END, start + RESULTS_START.length);
  if (start === -1 || end === -1) {
    throw new Error(`${readmePath}: missing ${RESULTS_START} … ${RESULTS_END} markers`);
  }
  const updated =
    text.slice(0, start + RESULTS_START.length) + '\n' + formatResultsSection(run) + '\n' + text.slice(end);
  await writeAtomically(readmePath, updated);
  return true;
}
