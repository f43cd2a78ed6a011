/**
 * Summarises a V8 CPU profile (`node --cpu-prof`) of the API: where its busy time went, by subsystem and
 * by function. `node bench/profile-summary.ts <file.cpuprofile>` prints both tables.
 *
 * A sample's time goes to the innermost frame on its stack that belongs to a subsystem, so a socket write
 * that pg asks for counts as database time, and one only Node's HTTP server asked for counts as HTTP. Samples taken while
 * modules load are left out: start-up is not what a request costs.
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** First match wins; tested against a frame's URL, innermost frame first. */
const SUBSYSTEMS: [string, RegExp][] = [
  ['security headers', /node_modules\/(@fastify\/)?helmet\//],
  ['tracing', /node_modules\/@opentelemetry\//],
  ['metrics', /node_modules\/prom-client\/|\/src\/ops\/metrics/],
  ['logging', /node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|fast-redact)\//],
  ['auth', /node_modules\/(fast-jwt|jsonwebtoken|@node-rs)\/|\/src\/(plugins\/authentication|services\/auth)/],
  ['validation', /node_modules\/(ajv|ajv-formats|@fastify\/ajv-compiler|typebox|fast-uri)\//],
  ['serialisation', /node_modules\/(fast-json-stringify|@fastify\/fast-json-stringify-compiler|json-schema-ref-resolver)\//],
  ['database driver and query building', /node_modules\/(pg|pg-pool|pg-protocol|pg-types|pg-cursor|kysely|postgres-[a-z]+)\/|\/src\/db\//],
  ['jobs (pg-boss)', /node_modules\/pg-boss\/|\/src\/jobs\//],
  ['partner client and policies', /node_modules\/(undici|cockatiel)\/|\/src\/partners\//],
  ['admission and shedding', /node_modules\/@fastify\/(under-pressure|rate-limit)\/|\/src\/plugins\/(admission|load-shedding|rate-limit)/],
  ['routing and framework', /node_modules\/(fastify|find-my-way|avvio|light-my-request|@fastify\/[a-z-]+|fastify-plugin)\//],
  ['live (streams, bus, dispatch)', /\/src\/(live|dispatch)\//],
  ['dabba services and domain', /\/src\//],
];
/** Node's own frames count only when nothing of ours or a library's asked for the work. */
const NODE_HTTP = /^node:(_http_|net|internal\/(streams|stream_base_commons|http))/;

const ownerOf = (frame: CallFrame) => SUBSYSTEMS.find(([, re]) => re.test(frame.url))?.[0];
const isLoading = (frame: CallFrame) => /^node:internal\/modules\//.test(frame.url);

export interface ProfileSummary {
  busy_ms: number;
  idle_ms: number;
  subsystems: { name: string; ms: number; share: number }[];
  functions: { name: string; ms: number; share: number }[];
}

export function summarise(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));

  let busy = 0;
  let idle = 0;
  const subsystems = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    let owner: string | undefined;
    let http = false;
    let loading = false;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)!.callFrame;
      if (isLoading(frame)) loading = true;
      owner ??= ownerOf(frame);
      http ||= owner === undefined && NODE_HTTP.test(frame.url);
    }
    if (owner === undefined && http) owner = 'node http and sockets';
    if (loading) continue;
    busy += us;
    const name = owner ?? (leaf.functionName === '(garbage collector)' ? 'garbage collection' : 'other (node internals, program)');
    subsystems.set(name, (subsystems.get(name) ?? 0) + us);
    const where = leaf.url ? ` ${leaf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|sim)\//, '$1/')}:${leaf.lineNumber + 1}` : '';
    const fn = `${leaf.functionName || '(anonymous)'}${where}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
  }
  const rows = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), share: Math.round((us / busy) * 1000) / 1000 }));
  return { busy_ms: Math.round(busy / 1000), idle_ms: Math.round(idle / 1000), subsystems: rows(subsystems, Infinity), functions: rows(functions, top) };
}

export function formatSummary(s: ProfileSummary, perRequestOf?: number): string {
  const per = (ms: number) => (perRequestOf ? ` | ${(ms / perRequestOf).toFixed(3)}` : '');
  const head = perRequestOf ? ' | ms per request' : '';
  const line = perRequestOf ? '|---:' : '';
  return [
    `busy ${s.busy_ms} ms, idle ${s.idle_ms} ms${perRequestOf ? `, ${perRequestOf} requests` : ''}`,
    '',
    `| subsystem | busy share${head} |`,
    `|---|---:${line}|`,
    ...s.subsystems.map((r) => `| ${r.name} | ${(r.share * 100).toFixed(1)}%${per(r.ms)} |`),
    '',
    '| function (self time) | busy share |',
    '|---|---:|',
    ...s.functions.map((r) => `| \`${r.name.replaceAll('|', '\\|')}\` | ${(r.share * 100).toFixed(1)}% |`),
  ].join('\n');
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node bench/profile-summary.ts <file.cpuprofile> [requests]');
  const requests = process.argv[3] ? Number(process.argv[3]) : undefined;
  process.stdout.write(`${formatSummary(summarise(JSON.parse(await readFile(file, 'utf8')) as CpuProfile), requests)}\n`);
}
