/**
 * How the route fuzzer sends a request, reads its answer and describes it in a failure: through `app.inject`, except for
 * operations whose success is an event stream, which never ends — a refusal is read whole like any
 * answer, and a stream that opened is abandoned as soon as its head is in (the server sees its client go).
 */
import type { App } from '../src/app.ts';
import type { FuzzRequest } from './fuzz.generators.ts';

export interface Answer {
  reqId: string;
  status: number;
  type: string;
  body: string;
  bytes: number;
}

type OpenApiPaths = Record<string, Record<string, { responses?: Record<string, { content?: object }> }>>;

/** The operations (`METHOD /path`) of an OpenAPI document whose 200 is `text/event-stream`. */
export function streamOperations(doc: { paths: OpenApiPaths }): Set<string> {
  const streams = new Set<string>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (op.responses?.['200']?.content && 'text/event-stream' in op.responses['200'].content) streams.add(`${method.toUpperCase()} ${path}`);
    }
  }
  return streams;
}

/** The operations whose 200 is a file (neither JSON nor an event stream), with the media types the document gives it. */
export function fileOperations(doc: { paths: OpenApiPaths }): Map<string, string[]> {
  const files = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const types = Object.keys(op.responses?.['200']?.content ?? {});
      if (types.length > 0 && !types.some((t) => t === 'application/json' || t === 'text/event-stream')) files.set(`${method.toUpperCase()} ${path}`, types);
    }
  }
  return files;
}

export async function send(app: App, r: FuzzRequest, reqId: string, stream: boolean): Promise<Answer> {
  const headers = { ...r.headers, 'x-request-id': reqId };
  if (!stream) {
    const res = await app.inject({ method: r.method as 'GET', url: r.url, headers, payload: r.payload });
    return { reqId, status: res.statusCode, type: String(res.headers['content-type'] ?? ''), body: res.body, bytes: res.rawPayload.length };
  }
  const abandon = new AbortController();
  const res = await app.inject({ method: r.method as 'GET', url: r.url, headers, payload: r.payload, payloadAsStream: true, signal: abandon.signal });
  const type = String(res.headers['content-type'] ?? '');
  if (type.startsWith('text/event-stream')) {
    // The abort errors the response's stream too; nobody reads it.
    res.stream().on('error', () => {});
    abandon.abort();
    return { reqId, status: res.statusCode, type, body: '', bytes: 0 };
  }
  const chunks: Buffer[] = [];
  for await (const chunk of res.stream()) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return { reqId, status: res.statusCode, type, body: body.toString(), bytes: body.length };
}

export const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** What the server logged for a request (errors only, at the fuzzer's log level). */
export const loggedFor = (log: { text: string }, a: Answer) =>
  log.text
    .split('\n')
    .filter((line) => line.includes(`"reqId":"${a.reqId}"`))
    .map((line) => JSON.parse(line) as { msg?: string; err?: { type?: string; message?: string } });

/** A request and its answer, with what the server logged for it, as a failure report shows them. */
export const describeAnswer = (log: { text: string }, r: FuzzRequest, a: Answer) =>
  `${r.method} ${clip(r.url, 160)} as ${r.identity} [${r.kind}: ${clip(r.why, 120)}]` +
  `${r.payload === undefined ? '' : `\n    ${r.headers['content-type'] ?? '(no content-type)'} ${clip(JSON.stringify(r.payload), 400)}`}` +
  `\n    → ${a.status} ${a.type} ${clip(a.body, 300)}` +
  loggedFor(log, a)
    .map((l) => `\n    logged: ${clip(JSON.stringify(l.err ?? l), 600)}`)
    .join('');

/** What an error answer broke: every one is a complete problem+json of bounded size, and a request the schema admits is never refused as invalid. */
export function problemViolations(r: FuzzRequest, a: Answer, maxBytes: number): string[] {
  const out: string[] = [];
  if (a.bytes > maxBytes) out.push(`a problem over ${maxBytes / 1024} KiB`);
  if (!a.type.startsWith('application/problem+json')) return [...out, `a ${a.status} not as application/problem+json`];
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(a.body);
  } catch {
    return [...out, `a ${a.status} whose body is not JSON`];
  }
  if (!['type', 'title', 'detail'].every((k) => typeof p[k] === 'string') || p.status !== a.status) out.push(`a ${a.status} that is not a complete problem`);
  if (r.kind === 'valid' && String(p.type).endsWith('/validation')) out.push('a schema-valid request failed validation');
  return out;
}
