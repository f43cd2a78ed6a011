/** One PartnerHttp against a fake partner over real HTTP, for the tests of the client and its policies. */
import assert from 'node:assert/strict';
import { after } from 'node:test';
import { freePort } from '../bench/processes.ts';
import { createMetrics } from '../src/ops/metrics.ts';
import { PartnerError } from '../src/partners/partner-errors.ts';
import { PartnerHttp, type PartnerSettings } from '../src/partners/partner-http.ts';
import { FakePartner } from './fake-partner.ts';

/**
 * What the file started, closed when it ends. One `after` registered before any test runs: node:test
 * ties an `after` to whatever test is running when it is called, and tests start as they are declared.
 */
const started: { close(): Promise<unknown> }[] = [];
after(() => Promise.all(started.map((s) => s.close())));

export async function fakePartner() {
  const fake = await new FakePartner().start();
  started.push(fake);
  return fake;
}

/** A port nothing listens on: connections to it are refused. */
export const closedPort = async () => `http://127.0.0.1:${await freePort()}`;

/** One PartnerHttp on its own metrics, with a breaker out of reach unless a test brings it close. */
export function partnerHttp(name: string, url: string, settings: Partial<PartnerSettings> = {}) {
  const metrics = createMetrics();
  const http = new PartnerHttp(
    {
      name,
      url,
      attemptTimeoutMs: 1_000,
      maxAttempts: 3,
      maxInFlight: 10,
      maxQueued: 10,
      connections: 4,
      breakerThreshold: 1_000,
      breakerHalfOpenAfterMs: 60_000,
      ...settings,
    },
    metrics,
  );
  started.push(http);
  return { http, metrics };
}

export async function callOutcomes(metrics: ReturnType<typeof createMetrics>, outcome: string) {
  const { values } = await metrics.partnerCallSeconds.get();
  return values.filter((v) => v.metricName?.endsWith('_count') && v.labels['outcome'] === outcome).reduce((n, v) => n + v.value, 0);
}

/** The PartnerError a call rejected with; fails the test if it resolved or threw something else. */
export async function failure(call: Promise<unknown>): Promise<PartnerError> {
  try {
    const value = await call;
    assert.fail(`expected a PartnerError, the call answered ${JSON.stringify(value)}`);
  } catch (err) {
    if (!(err instanceof PartnerError)) throw err;
    return err;
  }
}

export const signal = () => AbortSignal.timeout(5_000);
export const A = { lat: 19.07, lng: 72.87 };
export const B = { lat: 19.08, lng: 72.88 };
