/**
 * Reporting for `npm run bench`: turns a BenchRun (what bench/run.ts measured) into the rows of
 * bench/results/latest.json, a terminal table, a Markdown table, the target checks, an SVG chart of
 * feed throughput and p99 against concurrency, and the results section of bench/README.md.
 *
 * Everything except writeReport and updateReadme is a pure function of the run.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { SVG_TITLE, renderSvg } from './report-chart.ts';
import { type BenchRun, fmt, pct, runDate, toRows } from './report-rows.ts';
import { formatMarkdownTable, mdCell } from './report-table.ts';
import { targets } from './report-targets.ts';

export * from './report-rows.ts';
export { escapeXml, renderSvg } from './report-chart.ts';
export { formatMarkdownTable, formatTable } from './report-table.ts';
export { targets } from './report-targets.ts';

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
