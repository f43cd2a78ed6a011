/**
 * The campaign's report: one row per round (fault, when, orders and how they ended, each invariant
 * ✔ or ✖ with its count), a summary line, and the evidence for every violation; printed as it goes
 * and written as Markdown and JSON to bench/results/ for the README to show the last run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Check } from './chaos-invariants.ts';
import type { RoundResult } from './chaos-round.ts';

const COLUMNS: { key: Check['key']; label: string }[] = [
  { key: 'auth', label: '1 auth' },
  { key: 'void', label: '2 void/capture' },
  { key: 'pos', label: '3 POS' },
  { key: 'stuck', label: '4 stuck' },
  { key: 'follow', label: '5 follow-ups' },
  { key: 'lost', label: '6 lost' },
  { key: 'api', label: 'API' },
];
const HEADER = ['round', 'fault', 'when ms', 'orders', 'confirmed', 'failed', 'delivered', ...COLUMNS.map((c) => c.label), 'settled in'];
/** Evidence lines kept per check per round: enough to act on, bounded however bad a round is. */
const MAX_DETAILS = 12;

export interface Campaign {
  seed: number;
  rounds: number;
  database: string;
  skipped: string[];
  startedAt: string;
  durationMs: number;
  results: RoundResult[];
  /** A round the harness itself could not finish (not a dabba violation, but the run proves nothing then). */
  errors: string[];
}

const mark = (c: Check | undefined) => (!c ? '?' : c.violations === 0 ? '✔' : `✖ ${c.violations}`);

export function row(r: RoundResult): string[] {
  return [
    String(r.round),
    r.fault,
    String(r.whenMs),
    String(r.orders),
    String(r.confirmed),
    String(r.failed),
    String(r.delivered),
    ...COLUMNS.map((c) => mark(r.checks.find((x) => x.key === c.key))),
    r.settle.settled ? `${(r.settle.ms / 1000).toFixed(1)} s` : `✖ ${r.settle.left}`,
  ];
}

/** Widths by code point, so ✔ and ✖ line up in a terminal. */
export function textTable(rows: string[][]): string {
  const all = [HEADER, ...rows];
  const width = HEADER.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  const line = (r: string[]) => r.map((cell, i) => cell + ' '.repeat(width[i]! - [...cell].length)).join('  ');
  return [line(HEADER), width.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function violations(c: Campaign) {
  return c.results.reduce((n, r) => n + r.checks.reduce((m, x) => m + x.violations, 0), 0);
}

export function summary(c: Campaign): string {
  const sum = (f: (r: RoundResult) => number) => c.results.reduce((n, r) => n + f(r), 0);
  const bad = violations(c);
  const byCheck = COLUMNS.map((col) => `${col.label} ${sum((r) => r.checks.find((x) => x.key === col.key)?.violations ?? 0)}`).join(', ');
  const unsettled = c.results.filter((r) => !r.settle.settled).length;
  return (
    `${bad === 0 && c.errors.length === 0 ? 'PASS' : 'FAIL'}: ${c.results.length}/${c.rounds} rounds, ${sum((r) => r.orders)} orders ` +
    `(${sum((r) => r.confirmed)} confirmed, ${sum((r) => r.failed)} failed, ${sum((r) => r.delivered)} delivered), ` +
    `${bad} violations (${byCheck})${unsettled ? `, ${unsettled} rounds did not settle` : ''}` +
    `${c.errors.length ? `, ${c.errors.length} harness errors` : ''}; seed ${c.seed}; ${(c.durationMs / 60_000).toFixed(1)} min`
  );
}

/** Every violation with its evidence, per round and check. */
export function evidence(c: Campaign): string[] {
  const out: string[] = [];
  for (const r of c.results) {
    for (const x of r.checks) {
      if (x.violations === 0) continue;
      out.push(`round ${r.round} (${r.fault}, at ${r.whenMs} ms) — ${x.title}: ${x.violations}`);
      for (const d of x.details.slice(0, MAX_DETAILS)) out.push(`    ${d}`);
      if (x.details.length > MAX_DETAILS) out.push(`    … ${x.details.length - MAX_DETAILS} more`);
    }
  }
  return out;
}

export function markdown(c: Campaign): string {
  const cells = (r: string[]) => `| ${r.map((x) => x.replaceAll('|', '\\|')).join(' | ')} |`;
  const found = evidence(c);
  const notes = c.results.filter((r) => r.faultLog.notes.length > 0).map((r) => `- round ${r.round}: ${r.faultLog.notes.join('; ')}`);
  return [
    '# Chaos campaign: last run',
    '',
    `\`npm run chaos -- --rounds ${c.rounds} --seed ${c.seed}\` on ${c.startedAt.slice(0, 10)}, ${c.database}` +
      `${c.skipped.length ? ` (${c.skipped.join('; ')})` : ''}, ${(c.durationMs / 60_000).toFixed(1)} min.`,
    '',
    'Invariants: 1 at most one authorisation per order, exactly one for an order that went ahead; 2 every authorisation of a',
    'failed order voided and none captured, a delivered order captured exactly once; 3 no live POS ticket for a failed order',
    '(one for a POS order that went ahead); 4 no order placed, no failed order still holding a payment or ticket; 5 every',
    "status change's follow-up jobs completed, none pending or dead-lettered, one notification each at the notify partner;",
    '6 every order a client was told of exists, one per Idempotency-Key, none nobody asked for; API: the process never died',
    'on its own and served again after every fault. Checked against the database and the simulators\' own records.',
    '`when ms`: the fault\'s injection, from the burst\'s first request; `confirmed`: orders that were ever confirmed (some',
    'later cancelled or delivered); `settled in`: from the end of the round\'s moves to no order placed and no follow-up owed.',
    '',
    cells(HEADER),
    cells(HEADER.map(() => '---')),
    ...c.results.map((r) => cells(row(r))),
    '',
    `**${summary(c)}**`,
    '',
    ...(found.length ? ['## Violations', '', '```', ...found, '```', ''] : []),
    ...(c.errors.length ? ['## Harness errors', '', ...c.errors.map((e) => `- ${e}`), ''] : []),
    ...(notes.length ? ['## Notes', '', ...notes, ''] : []),
  ].join('\n');
}

export async function writeReport(dir: string, c: Campaign) {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'chaos.md'), markdown(c));
  await writeFile(path.join(dir, 'chaos.json'), `${JSON.stringify(c, (_, v) => (v instanceof Set ? [...v] : v), 2)}\n`);
}
