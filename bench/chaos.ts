/**
 * `npm run chaos`: a fault campaign that proves dabba's guarantees under faults. Each round sends a
 * burst of orders (and their later moves) to a real `dabba serve`, injects one fault at a seeded
 * moment (kill -9 of the API, a partner down / hanging / erroring, PostgreSQL restarted), clears it,
 * waits for the system to settle and checks the invariants against the database and the partner
 * simulators' own records. Exit code 1 on any violation.
 *
 *   npm run chaos                     20 rounds, a random seed (printed)
 *   npm run chaos -- --quick          4 rounds: every fault kind once, then a partner fault (CI)
 *   npm run chaos -- --rounds 8 --seed 42
 *   npm run chaos -- --faults postgres --rounds 3    only these fault kinds
 *
 * Everything is on 127.0.0.1 and bounded: each round's steps have deadlines, and the whole run has
 * one (`--max-minutes`); it stops only what it started, by pid, and removes its temporary directory.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ApiProcess, ChaosDatabase, type ChaosSim, apiEnv, seedWorld, startSim } from './chaos-env.ts';
import { type FaultKind, rng, roundSeed, schedule } from './chaos-faults.ts';
import { type Campaign, evidence, row, summary, textTable, violations, writeReport } from './chaos-report.ts';
import { runRound } from './chaos-round.ts';
import { freePort } from './processes.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    seed: { type: 'string' },
    quick: { type: 'boolean', default: false },
    faults: { type: 'string', default: 'kill,partner,postgres' },
    'settle-ms': { type: 'string', default: '120000' },
    'max-minutes': { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
    // Hidden: only to prove the checks can fail (see chaos-round.ts `corrupt`, and settling skipped).
    'inject-violation': { type: 'boolean', default: false },
    'no-settle': { type: 'boolean', default: false },
  },
});

const positive = (name: string, raw: string | undefined, fallback: number) => {
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`chaos: --${name} must be a non-negative integer (got ${raw})\n`);
    process.exit(2);
  }
  return n;
};
const rounds = positive('rounds', values.rounds, values.quick ? 4 : 20);
const seed = positive('seed', values.seed, Math.floor(Math.random() * 2 ** 31));
const settleMs = positive('settle-ms', values['settle-ms'], 120_000);
// Rounds take well under a minute each; the bound only stops a campaign that hangs.
const maxMinutes = positive('max-minutes', values['max-minutes'], 5 + rounds * 4);

const started = Date.now();
const KINDS: readonly FaultKind[] = ['kill', 'partner', 'postgres'];
let kinds = values.faults.split(',').map((k) => k.trim()) as FaultKind[];
if (kinds.length === 0 || kinds.some((k) => !KINDS.includes(k))) {
  process.stderr.write(`chaos: --faults takes a comma-separated list of ${KINDS.join(', ')} (got ${values.faults})\n`);
  process.exit(2);
}
const skipped: string[] = [];
if (process.env.DATABASE_URL && kinds.includes('postgres')) {
  kinds = kinds.filter((k) => k !== 'postgres');
  skipped.push('PostgreSQL-restart fault skipped: DATABASE_URL is set, and only an embedded PostgreSQL can be restarted here');
  if (kinds.length === 0) {
    process.stderr.write('chaos: no fault left to inject\n');
    process.exit(2);
  }
}
process.stdout.write(`chaos: ${rounds} rounds, seed ${seed} (replay with --seed ${seed}); faults: ${kinds.join(', ')}\n`);
for (const s of skipped) process.stdout.write(`chaos: ${s}\n`);

let db: ChaosDatabase | undefined;
let sim: ChaosSim | undefined;
let api: ApiProcess | undefined;
let sql: pg.Pool | undefined;
let cleaning: Promise<void> | undefined;
/** Stops what this run started, in reverse order; safe to call twice (a signal during the normal end). */
const cleanup = () =>
  (cleaning ??= (async () => {
    await api?.stop().catch(() => {});
    await sql?.end().catch(() => {});
    await sim?.server.close().catch(() => {});
    await db?.close().catch((err: unknown) => process.stderr.write(`chaos: stopping PostgreSQL: ${err}\n`));
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\nchaos: ${signal}: stopping …\n`);
    void cleanup().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  process.stderr.write(`chaos: still running after ${maxMinutes} min (--max-minutes): stopping\n`);
  void cleanup().finally(() => process.exit(2));
}, maxMinutes * 60_000);
watchdog.unref();

const campaign: Campaign = {
  seed,
  rounds,
  database: process.env.DATABASE_URL ? 'DATABASE_URL (a fresh database on it)' : 'embedded PostgreSQL 18 (temporary directory)',
  skipped,
  startedAt: new Date(started).toISOString(),
  durationMs: 0,
  results: [],
  errors: [],
};

try {
  db = await ChaosDatabase.start(process.env.DATABASE_URL);
  sim = await startSim();
  api = new ApiProcess(await freePort(), apiEnv(db.url, sim));
  await api.start(); // migrates the fresh database
  sql = new pg.Pool({ connectionString: db.url, max: 4 });
  sql.on('error', () => {}); // idle connections cut by a PostgreSQL restart
  const world = await seedWorld(sql, sim);
  const rows: string[][] = [];
  // The quick run: every kind once, then partner faults, which settle in seconds (a kill or a PostgreSQL restart
  // leaves running follow-up jobs to pg-boss's 30 s expiry, so their rounds take a minute).
  const thenOnly = values.quick && kinds.includes('partner') ? 'partner' : undefined;
  for (const spec of schedule(rng(seed), rounds, kinds, { thenOnly })) {
    process.stdout.write(`round ${spec.round}/${rounds}: ${spec.orders} orders, fault at ${spec.whenMs} ms …\n`);
    try {
      const result = await runRound(
        { api, sim, db, sql, world, rng: rng(roundSeed(seed, spec.round)), settleMs, noSettle: values['no-settle'], injectViolation: values['inject-violation'] },
        spec,
      );
      campaign.results.push(result);
      rows.push(row(result));
      const bad = result.checks.filter((c) => c.violations > 0).map((c) => `${c.key} ${c.violations}`);
      process.stdout.write(
        `  ${result.fault}: ${result.orders} orders, ${(result.durationMs / 1000).toFixed(1)} s` +
          `${result.faultLog.notes.length ? `; ${result.faultLog.notes.join('; ')}` : ''} → ${bad.length ? `✖ ${bad.join(', ')}` : '✔'}\n`,
      );
    } catch (err) {
      campaign.errors.push(`round ${spec.round}: ${(err as Error).stack ?? err}`);
      process.stdout.write(`  round ${spec.round} could not finish: ${(err as Error).message}\n`);
      if (!api.alive()) await api.start().catch(() => {});
    }
  }
  campaign.durationMs = Date.now() - started;
  process.stdout.write(`\n${textTable(rows)}\n\n`);
  const found = evidence(campaign);
  if (found.length) process.stdout.write(`violations:\n${found.join('\n')}\n\n`);
  for (const e of campaign.errors) process.stdout.write(`harness error: ${e}\n`);
  process.stdout.write(`${summary(campaign)}\n`);
  await writeReport(values.out, campaign);
  process.stdout.write(`written: ${values.out}/chaos.md, ${values.out}/chaos.json\n`);
} catch (err) {
  campaign.errors.push(String((err as Error).stack ?? err));
  process.stderr.write(`chaos: ${(err as Error).stack ?? err}\n${api ? api.output().slice(-3_000) : ''}\n`);
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exitCode = violations(campaign) > 0 || campaign.errors.length > 0 ? 1 : 0;
