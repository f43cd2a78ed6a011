import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { type IncomingMessage, createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { type Sim, createTestDatabase, eventually, startSim } from './helper.ts';
import {
  type CliProcess,
  type SeededWorld,
  exitWithin,
  freePort,
  orderPayload,
  parseJsonLines,
  runCli,
  seedWorld,
  sleep,
  waitReady,
  serveEnv,
} from './ops.helper.ts';

// ---------------------------------------------------------------------------------------------
// A minimal OTLP/HTTP collector: keeps every export request and the spans in it.

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  attributes: Record<string, string | number | boolean | undefined>;
  resource: Record<string, string | number | boolean | undefined>;
}

/** OTLP span kinds are the API's plus one (0 is "unspecified"). */
const SERVER = 2;
const CLIENT = 3;

function attributes(list: OtlpAttribute[] | undefined) {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const a of list ?? []) {
    const v = a.value;
    out[a.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
  }
  return out;
}

interface Export {
  contentType: string | undefined;
  spans: Span[];
}

async function readBody(req: IncomingMessage) {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

async function startCollector() {
  const exports: Export[] = [];
  const problems: string[] = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      problems.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
      return;
    }
    const contentType = req.headers['content-type'];
    const spans: Span[] = [];
    if (contentType?.startsWith('application/json')) {
      const payload = JSON.parse(body.toString()) as {
        resourceSpans: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans: { spans: Record<string, unknown>[] }[] }[];
      };
      for (const rs of payload.resourceSpans ?? []) {
        const resource = attributes(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: String(s.traceId),
              spanId: String(s.spanId),
              parentSpanId: s.parentSpanId ? String(s.parentSpanId) : undefined,
              name: String(s.name),
              kind: Number(s.kind),
              start: BigInt(s.startTimeUnixNano as string),
              end: BigInt(s.endTimeUnixNano as string),
              attributes: attributes(s.attributes as OtlpAttribute[]),
              resource,
            });
          }
        }
      }
    } else {
      problems.push(`undecodable export: content-type ${contentType}`);
    }
    exports.push({ contentType, spans });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    problems,
    spans: () => exports.flatMap((e) => e.spans),
    reset() {
      exports.length = 0;
      problems.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Whether `span` is `ancestor` or sits below it in the trace. */
function descendsFrom(span: Span, ancestor: Span, byId: Map<string, Span>) {
  let current: Span | undefined = span;
  for (let hops = 0; current && hops < 50; hops++) {
    if (current.spanId === ancestor.spanId) return true;
    current = current.parentSpanId ? byId.get(current.parentSpanId) : undefined;
  }
  return false;
}

describe('distributed tracing over OTLP', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let sim: Sim;
  let sql: pg.Pool;
  let drop: () => Promise<void>;
  let world: SeededWorld;
  let databaseUrl: string;
  const processes: CliProcess[] = [];

  before(async () => {
    collector = await startCollector();
    sim = await startSim();
    const db = await createTestDatabase();
    databaseUrl = db.url;
    drop = db.drop;
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    sql.on('error', () => {});
    world = await seedWorld(sql);
  });

  after(async () => {
    for (const p of processes) await p.kill();
    await collector?.close();
    await sim?.server.close();
    await sql?.end();
    await drop?.();
  });

  async function serve(env: Record<string, string>) {
    const port = await freePort();
    const proc = runCli(['serve'], serveEnv(port, databaseUrl, sim, env));
    processes.push(proc);
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base, proc);
    return { proc, base };
  }

  function placeOrder(base: string, traceparent: string) {
    return fetch(`${base}/v1/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${world.customers[0]!.token}`,
        'idempotency-key': randomUUID(),
        traceparent,
      },
      body: JSON.stringify(orderPayload(world)),
    });
  }

  it('exports the request’s span as a child of the caller’s traceparent, with SQL and concurrent partner calls below it, and logs its trace id', async () => {
    const { proc, base } = await serve({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '200' });
    const traceId = hex(16);
    const callerSpanId = hex(8);
    const res = await placeOrder(base, `00-${traceId}-${callerSpanId}-01`);
    const body = await res.text();
    assert.equal(res.status, 201, body);
    const order = JSON.parse(body) as { status: string };
    assert.equal(order.status, 'confirmed');

    const wanted = ['payments authorize', 'pos submit', 'eta predict'];
    const trace = await eventually(
      'the order’s spans at the collector',
      async () => {
        const spans = collector.spans().filter((s) => s.traceId === traceId);
        const names = new Set(spans.map((s) => s.name));
        return names.has('POST /v1/orders') && wanted.every((n) => names.has(n)) && names.has('db.query') && spans;
      },
      10_000,
    );
    assert.deepEqual(collector.problems, []);
    for (const e of collector.exports) assert.match(e.contentType ?? '', /^application\/json/);

    const servers = trace.filter((s) => s.kind === SERVER);
    assert.equal(servers.length, 1, `server spans: ${servers.map((s) => s.name).join(', ')}`);
    const server = servers[0]!;
    assert.equal(server.name, 'POST /v1/orders');
    assert.equal(server.parentSpanId, callerSpanId, 'the server span is a child of the caller’s span');
    assert.equal(server.attributes['http.route'], '/v1/orders');
    assert.equal(server.attributes['http.response.status_code'], 201);
    assert.equal(server.resource['service.name'], 'dabba');

    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const queries = trace.filter((s) => s.name === 'db.query');
    assert.ok(queries.length >= 3, `${queries.length} SQL spans`);
    for (const q of queries) {
      assert.equal(q.kind, CLIENT);
      assert.ok(descendsFrom(q, server, byId), 'a SQL span outside the request span');
      assert.equal(q.attributes['db.system.name'], 'postgresql');
      assert.ok(q.start >= server.start && q.end <= server.end, 'a SQL span outside the request’s time');
    }

    const partners = wanted.map((name) => {
      const found = trace.filter((s) => s.name === name);
      assert.equal(found.length, 1, `${name}: ${found.length} spans`);
      const span = found[0]!;
      assert.equal(span.kind, CLIENT);
      assert.ok(descendsFrom(span, server, byId), `${name} is not below the request span`);
      return span;
    });
    // Checkout fans out: each call starts before any of the others has ended.
    for (const a of partners) {
      for (const b of partners) {
        if (a !== b) assert.ok(a.start < b.end, `${a.name} started after ${b.name} ended: the calls ran one after another`);
      }
    }

    const logged = await eventually('the request log line', async () =>
      parseJsonLines(proc.output()).find((l) => l.msg === 'request' && l.route === '/v1/orders' && l.method === 'POST'),
    );
    assert.equal(logged.trace_id, traceId);
    assert.equal(logged.status, 201);

    // Spans still batched when the process is told to stop leave with it: answer, then SIGTERM at once.
    const lastTrace = hex(16);
    const feed = await fetch(`${base}/v1/feed?lat=19.076&lng=72.8777`, { headers: { traceparent: `00-${lastTrace}-${hex(8)}-01` } });
    assert.equal(feed.status, 200);
    await feed.arrayBuffer();
    proc.child.kill('SIGTERM');
    const [code] = await exitWithin(proc, 15_000);
    assert.equal(code, 0, proc.output().slice(-2000));
    const last = collector.spans().filter((s) => s.traceId === lastTrace && s.kind === SERVER);
    assert.equal(last.length, 1, 'the span of the last request before SIGTERM was exported before exit');
  });

  it('exports nothing and logs no trace ids with OTEL_SDK_DISABLED=true', async () => {
    for (const p of processes) await p.kill(); // the first server, should its test have stopped half-way
    collector.reset();
    const { proc, base } = await serve({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_SDK_DISABLED: 'true',
    });
    const res = await placeOrder(base, `00-${hex(16)}-${hex(8)}-01`);
    const body = await res.text();
    assert.equal(res.status, 201, body);
    const feed = await fetch(`${base}/v1/feed?lat=19.076&lng=72.8777`);
    assert.equal(feed.status, 200);
    await feed.arrayBuffer();
    await sleep(1_000); // five export intervals
    proc.child.kill('SIGTERM');
    const [code] = await exitWithin(proc, 15_000);
    assert.equal(code, 0, proc.output().slice(-2000));

    assert.equal(collector.exports.length, 0, 'spans were exported');
    const lines = parseJsonLines(proc.output());
    const requests = lines.filter((l) => l.msg === 'request');
    assert.ok(requests.some((l) => l.route === '/v1/orders'), 'the order was logged');
    for (const l of lines) {
      assert.equal(l.trace_id, undefined, `a log line carries a trace id: ${JSON.stringify(l)}`);
      assert.equal(l.span_id, undefined, `a log line carries a span id: ${JSON.stringify(l)}`);
    }
  });
});
