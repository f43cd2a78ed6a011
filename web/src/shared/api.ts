import type { Problem } from './types.ts';

/** A refused request, with the API's RFC 9457 problem when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | undefined;

  constructor(status: number, problem: Problem | undefined, fallback: string) {
    super(problem?.detail ?? fallback);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH';
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Headers for a signed-in request. */
export const bearer = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

/** The API's answer, or an ApiError (a network failure is one too, with status 0). */
export async function request(path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers = { ...bearer(opts.token), ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new ApiError(0, undefined, 'The server could not be reached. Check the connection and try again.');
  }
  if (res.ok) return res;
  const type = res.headers.get('content-type') ?? '';
  const problem = type.includes('json') ? ((await res.json().catch(() => undefined)) as Problem | undefined) : undefined;
  throw new ApiError(res.status, problem, `${res.status} ${res.statusText}`);
}

/** A JSON answer (undefined for 204). */
export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await request(path, opts);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** What to tell a person about a failure. */
export const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export const isUnauthorized = (err: unknown) => err instanceof ApiError && err.status === 401;
