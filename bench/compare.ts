/**
 * `npx node bench/compare.ts <git-ref> [feed|order] [rounds]`: the API as it is at `<git-ref>` against
 * the API in this checkout, side by side on one stage in the CPU-bound regime (bench/cpu.ts: 5 ms
 * partners, 512 sockets each). Each round starts each build in turn, the order alternating, and runs
 * a warm-up and then one 10 s level; it prints requests per second, the API's CPU and garbage
 * collection per request, and its peak RSS. For a change's own effect, where `npm run bench` compares
 * dabba with the baseline. The other build runs from a git worktree in a temporary directory that
 * shares this checkout's node_modules and built pages; the worktree is removed at the end.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CONNECTIONS, SOCKETS, fastPartners } from './cpu.ts';
import { runLevel } from './run.ts';
import { type Stage, database, orderFixtures, startApi } from './stage.ts';

const git = (...args: string[]) => promisify(execFile)('git', args);
const log = (line: string) => process.stdout.write(`${line}\n`);

/** Seconds the API spent collecting garbage so far, from its own /metrics. */
async function gcSeconds(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^dabba_nodejs_gc_duration_seconds_sum\{[^}]*\} ([0-9.e+-]+)$/gm)) total += Number(m[1]);
  return total;
}

const [ref, kindArg = 'feed', roundsArg = '3'] = process.argv.slice(2);
if (!ref || (kindArg !== 'feed' && kindArg !== 'order') || !(Number(roundsArg) >= 1)) {
  throw new Error('usage: npx node bench/compare.ts <git-ref> [feed|order] [rounds]');
}
const kind = kindArg === 'order' ? 'order' : 'feed';
const other = await mkdtemp(path.join(tmpdir(), 'dabba-compare-'));
await git('worktree', 'add', '--detach', other, ref);
await symlink(path.resolve('node_modules'), path.join(other, 'node_modules'));
await rm(path.join(other, 'web', 'dist'), { recursive: true, force: true });
await symlink(path.resolve('web', 'dist'), path.join(other, 'web', 'dist'));

const builds = [
  { name: ref, checkout: other },
  { name: 'this checkout', checkout: undefined },
];
const rows = new Map<string, string[]>(builds.map((b) => [b.name, []]));
const db = await database();
const partners = await fastPartners();
try {
  for (let round = 0; round < Number(roundsArg); round++) {
    for (const build of round % 2 ? [...builds].reverse() : builds) {
      const { api, url } = await startApi(db.url, partners.env, { PARTNER_CONNECTIONS: SOCKETS }, [], build.checkout);
      try {
        const { token, menu } = await orderFixtures(url);
        const stage: Stage = { sim: partners.sim, api, baseline: api, urls: { dabba: url, baseline: url }, token, menu, latency: {} };
        const level = { scenario: kind, kind, connections: CONNECTIONS[kind], boundLatencyMs: 5 } as const;
        await runLevel(stage, 'dabba', { ...level, durationS: 3 });
        const gcBefore = await gcSeconds(url);
        const r = await runLevel(stage, 'dabba', { ...level, durationS: 10 });
        const gcMs = ((await gcSeconds(url)) - gcBefore) * 1000;
        const served = r.rps * r.duration_s;
        rows.get(build.name)!.push(`${r.rps}/s, ${r.cpu_ms_per_request} ms CPU, ${((gcMs / served) * 1000).toFixed(0)} µs GC, ${r.rss_mb} MB`);
      } finally {
        await api.stop();
      }
    }
  }
} finally {
  await partners.sim.stop();
  await db.close();
  await git('worktree', 'remove', '--force', other);
}
log(`\n${kind} at ${CONNECTIONS[kind]} connections, per request, round by round:`);
for (const [name, results] of rows) log(`${name.padEnd(16)} ${results.join(' | ')}`);
