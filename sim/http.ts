import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a partner or control handler sees: the path below its prefix, already split and decoded. */
export interface SimRequest {
  method: string;
  segments: string[];
  /** Raw query string without '?'; parsed only by the few routes that read it. */
  query: string;
  body: unknown;
}

export interface Reply {
  status: number;
  body: unknown;
}

/** Handlers return replies instead of writing them so the server can run an operation and still answer 503. */
export interface PartnerSim {
  handle(req: SimRequest): Reply;
  /** Routes under /_sim/{partner}/…; undefined means "no such route". */
  control(req: SimRequest): Reply | undefined;
  reset(): void;
}

const MAX_BODY_BYTES = 1024 * 1024;

export const reply = (status: number, body: unknown): Reply => ({ status, body });
export const notFound = (): Reply => reply(404, { error: 'not found' });

/** status 0 means the client went away mid-body: there is nobody left to answer. */
export type BodyResult = { ok: true; body: unknown } | { ok: false; status: number; error: string };

export function readJsonBody(req: IncomingMessage): Promise<BodyResult> {
  if (req.method === 'GET' || req.method === 'HEAD' || req.headers['content-length'] === '0') {
    return Promise.resolve({ ok: true, body: undefined });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult) => {
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return settle({ ok: false, status: 413, error: 'body exceeds 1 MiB' });
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size === 0) return settle({ ok: true, body: undefined });
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      try {
        settle({ ok: true, body: JSON.parse(text) });
      } catch {
        settle({ ok: false, status: 400, error: 'body is not valid JSON' });
      }
    });
    req.once('error', () => settle({ ok: false, status: 0, error: 'aborted' }));
    req.once('close', () => settle({ ok: false, status: 0, error: 'aborted' }));
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(
    status,
    close
      ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' }
      : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
  );
  res.end(text);
}

/** Splits "/prefix/a/b?x=1" into decoded segments and the raw query; undefined when a segment is malformed. */
export function parseUrl(url: string): { segments: string[]; query: string } | undefined {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const raw = path.split('/');
  const segments: string[] = [];
  for (const part of raw) {
    if (part === '') continue;
    try {
      segments.push(part.includes('%') ? decodeURIComponent(part) : part);
    } catch {
      return undefined;
    }
  }
  return { segments, query: q === -1 ? '' : url.slice(q + 1) };
}
