import { after, before } from 'node:test';
import type { PartnerName } from './partner-state.ts';
import { PARTNERS } from './partner-state.ts';
import { type SimServer, startSimServer } from './server.ts';

export interface JsonResponse {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests index into arbitrary JSON bodies
  body: any;
}

export interface TestSim {
  server: SimServer;
  call(method: string, path: string, body?: unknown, init?: RequestInit): Promise<JsonResponse>;
  /** Sets every partner to a few milliseconds of latency so suites stay fast. */
  fast(): Promise<void>;
  settings(partner: PartnerName, patch: unknown): Promise<JsonResponse>;
}

export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  init?: RequestInit,
): Promise<JsonResponse> {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

export async function startTestSim(): Promise<TestSim> {
  const server = await startSimServer({ port: 0 });
  const settings = (partner: PartnerName, patch: unknown) =>
    call(server.url, 'PUT', `/_sim/partners/${partner}`, patch);
  return {
    server,
    call: (method, path, body, init) => call(server.url, method, path, body, init),
    settings,
    fast: async () => {
      await call(server.url, 'POST', '/_sim/reset');
      for (const name of PARTNERS) await settings(name, { median_ms: 1, p99_ms: 2 });
    },
  };
}

/** One server per test file, started before and closed after its tests. */
export function useSim(): TestSim {
  const holder = {} as TestSim;
  before(async () => {
    Object.assign(holder, await startTestSim());
  });
  after(() => holder.server.close());
  return holder;
}
