/**
 * PartnerHttp on its own, against a fake partner over real HTTP: how a bad answer meets the policies,
 * whether a failed call may have reached the partner, what a caller giving up ends, and what the
 * attempt's timeout covers (a call waiting for a socket is not timed; a body that stalls is).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { createMetrics } from '../src/ops/metrics.ts';
import { EtaClient } from '../src/partners/eta.client.ts';
import { MAX_ANSWER_BYTES } from '../src/partners/partner-exchange.ts';
import { A, B, callOutcomes, closedPort, failure, fakePartner, partnerHttp, signal } from './partner-http.helper.ts';
import { eventually } from './helper.ts';

// ---------------------------------------------------------------------------------------------
// partner-http: how a bad_response meets the policies, and whether a failed call may have reached the partner.

describe('partner-http: bad answers and the policies', () => {
  it('a bad_response is not retried, is counted in the call metrics, and counts against the breaker', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({ status: 200, body: { minutes: 'soon' } });
    // breakerThreshold 1: the breaker judges after one call, and opens when half of them failed.
    const { http, metrics } = partnerHttp('eta', fake.url, { maxAttempts: 3, breakerThreshold: 1 });
    const eta = new EtaClient(http);

    const first = await failure(eta.predict(A, B, 10, signal()));
    assert.equal(first.kind, 'bad_response');
    assert.equal(fake.received.length, 1, 'garbage is not asked for again at once');
    assert.equal(await callOutcomes(metrics, 'bad_response'), 1);

    const second = await failure(eta.predict(A, B, 10, signal()));
    assert.equal(second.kind, 'breaker_open', 'a partner answering garbage is sick: the breaker opened');
    assert.equal(second.mayHaveReached, false);
    assert.equal(fake.received.length, 1, 'an open breaker sends nothing');
  });
});

describe('partner-http: a caller that gives up', () => {
  it('ends the attempt it waits on: the request is cut at the partner and the bulkhead slot is free when the call rejects', async () => {
    const fake = await fakePartner();
    fake.answer = () => 'hang';
    // An attempt timeout far beyond the test's: only the caller's abort can end the attempt.
    const { http } = partnerHttp('eta', fake.url, { maxInFlight: 1, maxQueued: 0, attemptTimeoutMs: 600_000, maxAttempts: 1 });
    const eta = new EtaClient(http);
    const caller = new AbortController();
    const holding = failure(eta.predict(A, B, 10, caller.signal));
    while (fake.inFlight === 0) await new Promise((r) => setTimeout(r, 5));
    assert.equal(http.bulkheadUsage().inFlight, 1);

    caller.abort();
    assert.equal((await holding).kind, 'aborted');
    assert.equal(http.bulkheadUsage().inFlight, 0, 'the aborted call still holds its bulkhead slot');
    await eventually('the partner saw the request go', async () => fake.inFlight === 0, 5_000);
  });
});

describe('PartnerError.mayHaveReached', () => {
  it('false when the breaker is open, true for a 5xx that opened it', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({ status: 503, body: { error: 'down' } });
    const eta = new EtaClient(partnerHttp('eta', fake.url, { maxAttempts: 1, breakerThreshold: 1 }).http);

    const served = await failure(eta.predict(A, B, 10, signal()));
    assert.equal(served.kind, 'unavailable');
    assert.equal(served.mayHaveReached, true);
    const refused = await failure(eta.predict(A, B, 10, signal()));
    assert.equal(refused.kind, 'breaker_open');
    assert.equal(refused.mayHaveReached, false);
    assert.equal(fake.received.length, 1);
  });

  it('true when the breaker opens between attempts of a call whose first attempt was sent', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({ status: 503, body: { error: 'down' } });
    const eta = new EtaClient(partnerHttp('eta', fake.url, { maxAttempts: 2, breakerThreshold: 1 }).http);
    const err = await failure(eta.predict(A, B, 10, signal()));
    assert.equal(err.kind, 'breaker_open');
    assert.equal(err.mayHaveReached, true, 'the first attempt went out: the call as a whole may have reached the partner');
    assert.equal(fake.received.length, 1);
  });

  it('false when the bulkhead is full; true for the call holding it, aborted by its caller mid-flight', async () => {
    const fake = await fakePartner();
    fake.answer = () => 'hang';
    const eta = new EtaClient(partnerHttp('eta', fake.url, { maxInFlight: 1, maxQueued: 0, attemptTimeoutMs: 10_000 }).http);
    const caller = new AbortController();
    const holding = failure(eta.predict(A, B, 10, caller.signal));
    while (fake.received.length === 0) await new Promise((r) => setTimeout(r, 5));

    const full = await failure(eta.predict(A, B, 10, signal()));
    assert.equal(full.kind, 'bulkhead_full');
    assert.equal(full.mayHaveReached, false);

    caller.abort();
    const aborted = await holding;
    assert.equal(aborted.kind, 'aborted');
    assert.equal(aborted.mayHaveReached, true);
    assert.equal(fake.received.length, 1);
  });

  it('false when the caller had given up before the call started', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({ status: 200, body: { minutes: 10 } });
    const eta = new EtaClient(partnerHttp('eta', fake.url).http);
    const err = await failure(eta.predict(A, B, 10, AbortSignal.abort()));
    assert.equal(err.kind, 'aborted');
    assert.equal(err.mayHaveReached, false);
    assert.equal(fake.received.length, 0);
  });

  it('true when an attempt timed out', async () => {
    const fake = await fakePartner();
    fake.answer = () => 'hang';
    const eta = new EtaClient(partnerHttp('eta', fake.url, { maxAttempts: 1, attemptTimeoutMs: 50 }).http);
    const err = await failure(eta.predict(A, B, 10, signal()));
    assert.equal(err.kind, 'timeout');
    assert.equal(err.mayHaveReached, true);
  });

  it('false when every attempt was refused a connection', async () => {
    const eta = new EtaClient(partnerHttp('eta', await closedPort(), { maxAttempts: 2 }).http);
    const err = await failure(eta.predict(A, B, 10, signal()));
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.mayHaveReached, false, err.message);
  });
});
// ---------------------------------------------------------------------------------------------
// partner-http: an attempt is timed from when it can be sent, not while it waits for a socket.

describe('partner-http: calls beyond its sockets', () => {
  it('queues them in the bulkhead, so a call waiting for a socket never times out and the partner never sees more than the sockets', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({ status: 200, body: { minutes: 20, model: 'sim-v1' } });
    // Five calls on one socket, 300 ms each at the partner: the last one waits 1.2 s for the socket,
    // past the 1 s attempt timeout, and still each attempt, once sent, takes 300 ms.
    fake.delayMs = 300;
    const { http, metrics } = partnerHttp('eta', fake.url, { connections: 1, maxInFlight: 10, attemptTimeoutMs: 1_000, maxAttempts: 1 });
    const eta = new EtaClient(http);

    const calls = Promise.all(Array.from({ length: 5 }, () => eta.predict(A, B, 10, AbortSignal.timeout(10_000))));
    await eventually('four calls queued behind the one sent', async () => http.bulkheadUsage().queued === 4);
    assert.deepEqual(http.bulkheadUsage(), { inFlight: 1, queued: 4 });
    assert.deepEqual(await calls, [20, 20, 20, 20, 20]);
    assert.equal(fake.maxInFlight, 1);
    assert.equal(await callOutcomes(metrics, 'ok'), 5);
    assert.equal(await callOutcomes(metrics, 'timeout'), 0);
  });
});

describe('partner-http: retries', () => {
  it('a 5xx is asked again, and the call holds its bulkhead slot from the first attempt to the last', async () => {
    const fake = await fakePartner();
    let calls = 0;
    fake.answer = () => (++calls < 3 ? { status: 503, body: { error: 'busy' } } : { status: 200, body: { minutes: 12, model: 'sim-v1' } });
    // Each attempt takes 150 ms at the partner: the call lasts at least 450 ms.
    fake.delayMs = 150;
    const { http, metrics } = partnerHttp('eta', fake.url, { maxAttempts: 3, maxInFlight: 1, maxQueued: 0 });
    const call = new EtaClient(http).predict(A, B, 10, signal());
    await eventually('the first attempt', async () => fake.received.length >= 1);
    assert.equal((await failure(new EtaClient(http).predict(A, B, 10, signal()))).kind, 'bulkhead_full');
    assert.equal(await call, 12);
    assert.equal(fake.received.length, 3);
    assert.equal(await callOutcomes(metrics, 'ok'), 1);
    assert.equal(await callOutcomes(metrics, 'bulkhead_full'), 1);
  });

  it('gives up after maxAttempts with the last failure; a call with one attempt is never retried', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({ status: 503, body: { error: 'down' } });
    const three = await failure(new EtaClient(partnerHttp('eta', fake.url, { maxAttempts: 3 }).http).predict(A, B, 10, signal()));
    assert.equal(three.kind, 'unavailable');
    assert.equal(fake.received.length, 3);
    const one = await failure(new EtaClient(partnerHttp('eta', fake.url, { maxAttempts: 1 }).http).predict(A, B, 10, signal()));
    assert.equal(one.kind, 'unavailable');
    assert.equal(fake.received.length, 4);
  });
});

describe('partner-http: the attempt timeout', () => {
  const attempts = async (metrics: ReturnType<typeof createMetrics>, result: string) =>
    (await metrics.partnerAttempts.get()).values.filter((v) => v.labels['result'] === result).reduce((n, v) => n + v.value, 0);

  it('covers a body that starts and stops: that attempt times out and the next one is answered', async () => {
    const fake = await fakePartner();
    let calls = 0;
    fake.answer = () => (++calls === 1 ? 'stall' : { status: 200, body: { minutes: 31, model: 'sim-v1' } });
    const { http, metrics } = partnerHttp('eta', fake.url, { attemptTimeoutMs: 200, maxAttempts: 2 });
    assert.equal(await new EtaClient(http).predict(A, B, 10, signal()), 31);
    assert.equal(fake.received.length, 2, 'the stalled attempt was retried');
    assert.equal(await attempts(metrics, 'timeout'), 1);
    assert.equal(await attempts(metrics, '200'), 1);
  });

  it('a body that never ends, every time, fails the call as a timeout that may have reached the partner', async () => {
    const fake = await fakePartner();
    fake.answer = () => 'stall';
    const { http, metrics } = partnerHttp('eta', fake.url, { attemptTimeoutMs: 100, maxAttempts: 2 });
    const err = await failure(new EtaClient(http).predict(A, B, 10, signal()));
    assert.equal(err.kind, 'timeout');
    assert.equal(err.mayHaveReached, true);
    assert.equal(await callOutcomes(metrics, 'timeout'), 1);
    assert.equal(fake.received.length, 2);
  });

  it('an answer over 1 MiB is a bad_response, cut unread and not asked for again', async () => {
    const fake = await fakePartner();
    fake.answer = () => ({ status: 200, body: JSON.stringify({ minutes: 5, model: 'x'.repeat(MAX_ANSWER_BYTES) }) });
    const { http, metrics } = partnerHttp('eta', fake.url, { attemptTimeoutMs: 5_000, maxAttempts: 3 });
    const err = await failure(new EtaClient(http).predict(A, B, 10, signal()));
    assert.equal(err.kind, 'bad_response');
    assert.match(err.message, /over 1048576 bytes/);
    assert.equal(err.mayHaveReached, true);
    assert.equal(fake.received.length, 1);
    assert.equal(await attempts(metrics, 'too_large'), 1);
  });

  it('a caller who gives up mid-answer ends the call as aborted, not as a timeout to retry', async () => {
    const fake = await fakePartner();
    fake.answer = () => 'stall';
    const { http, metrics } = partnerHttp('eta', fake.url, { attemptTimeoutMs: 60_000, maxAttempts: 3 });
    const err = await failure(new EtaClient(http).predict(A, B, 10, AbortSignal.timeout(150)));
    assert.equal(err.kind, 'aborted');
    assert.equal(fake.received.length, 1);
    assert.equal(await attempts(metrics, 'aborted'), 1);
  });
});
