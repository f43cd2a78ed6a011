/** The results as a terminal table and as Markdown. */
import { type BenchRun, type Row, compactErrors, fmt, toRows } from './report-rows.ts';

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
  { header: 'db ms/req', numeric: true, cell: (r) => fmt(r.db_cpu_ms_per_request) },
  { header: 'loop p99', numeric: true, cell: (r) => fmt(r.loop_delay_p99_ms) },
  { header: 'bound', numeric: true, cell: (r) => fmt(r.bound_rps) },
  { header: '×bound', numeric: true, cell: (r) => fmt(r.ratio_to_bound) },
  { header: 'baseline rps', numeric: true, cell: (r) => fmt(r.baseline_rps) },
  { header: 'baseline cpu', numeric: true, cell: (r) => fmt(r.baseline_cpu_ms_per_request) },
  { header: 'baseline db', numeric: true, cell: (r) => fmt(r.baseline_db_cpu_ms_per_request) },
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

export function mdCell(text: string): string {
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
