import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CENTER, createRestaurant, createUser, placeOrder, setup } from './helper.ts';
import { type Sample, find, parsePrometheus, value } from './ops.helper.ts';

const ctx = await setup();

const UNKNOWN_PATH = '/v1/no-such-thing-4f1c2a';
let orderId: string;
let text: string;
let contentType: string | undefined;
let samples: Sample[];

describe('GET /metrics', () => {
  before(async () => {
    const customer = await createUser(ctx, 'customer');
    const owner = await createUser(ctx, 'restaurant');
    const restaurant = await createRestaurant(ctx, owner, { pos: true });

    const feed = await ctx.app.inject({ method: 'GET', url: `/v1/feed?lat=${CENTER.lat}&lng=${CENTER.lng}` });
    assert.equal(feed.statusCode, 200, feed.body);
    const order = await placeOrder(ctx, customer, restaurant);
    assert.equal(order.status, 'confirmed', 'the POS restaurant confirmed the order (payments authorised)');
    orderId = order.id;
    const read = await ctx.app.inject({ method: 'GET', url: `/v1/orders/${orderId}`, headers: customer.auth });
    assert.equal(read.statusCode, 200, read.body);
    const missing = await ctx.app.inject({ method: 'GET', url: UNKNOWN_PATH });
    assert.equal(missing.statusCode, 404);

    const res = await ctx.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200, res.body);
    contentType = res.headers['content-type'] as string | undefined;
    text = res.body;
    samples = parsePrometheus(text);
  });

  it('answers in the Prometheus text format, version 0.0.4', () => {
    assert.match(contentType ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(text, /^# HELP dabba_http_request_duration_seconds /m);
    assert.match(text, /^# TYPE dabba_http_request_duration_seconds histogram$/m);
  });

  it('counts requests by route template, method and status, never by raw URL', () => {
    const feedCount = value(samples, 'dabba_http_request_duration_seconds_count', { method: 'GET', route: '/v1/feed', status_code: '200' });
    assert.equal(feedCount, 1);
    const feedBuckets = find(samples, 'dabba_http_request_duration_seconds_bucket', { route: '/v1/feed', status_code: '200' });
    assert.ok(feedBuckets.length >= 2, 'the feed latency has histogram buckets');
    assert.equal(feedBuckets.find((b) => b.labels.le === '+Inf')?.value, 1);

    assert.equal(value(samples, 'dabba_http_request_duration_seconds_count', { method: 'POST', route: '/v1/orders', status_code: '201' }), 1);
    assert.equal(value(samples, 'dabba_http_request_duration_seconds_count', { method: 'GET', route: '/v1/orders/:id', status_code: '200' }), 1);
    const notFound = find(samples, 'dabba_http_request_duration_seconds_count', { status_code: '404' });
    assert.equal(notFound.length, 1, 'one series for the 404');
    assert.equal(notFound[0]!.value, 1);

    assert.ok(!text.includes(orderId), 'an order id became a label value');
    assert.ok(!text.includes(UNKNOWN_PATH), 'an unknown URL became a label value');
    for (const s of find(samples, 'dabba_http_request_duration_seconds_count')) {
      assert.ok(!/[?]|[0-9a-f]{8}-[0-9a-f]{4}-/.test(s.labels.route ?? ''), `raw URL as route label: ${s.labels.route}`);
    }
  });

  it('shows the scrape itself as the only request in flight', () => {
    assert.equal(value(samples, 'dabba_http_requests_in_flight'), 1);
  });

  it('reports event-loop delay and utilisation as plausible numbers', () => {
    const p99 = value(samples, 'dabba_event_loop_delay_p99_seconds');
    assert.ok(p99 > 0 && p99 < 10, `event-loop p99 ${p99} s`);
    const elu = value(samples, 'dabba_event_loop_utilization_ratio');
    assert.ok(elu >= 0 && elu <= 1, `utilisation ${elu}`);
  });

  it('reports the database pool and query latency', () => {
    assert.equal(value(samples, 'dabba_db_pool_connections', { state: 'waiting' }), 0);
    assert.ok(value(samples, 'dabba_db_pool_connections', { state: 'total' }) >= 1);
    const queries = value(samples, 'dabba_db_query_duration_seconds_count', { outcome: 'ok' });
    assert.ok(queries > 0, `${queries} queries counted`);
  });

  it('reports follow-up job queues by name', () => {
    for (const queue of ['notify', 'capture', 'compensate']) {
      const queued = value(samples, 'dabba_jobs_queued', { queue });
      assert.ok(Number.isInteger(queued) && queued >= 0, `${queue}: ${queued} queued`);
      const age = value(samples, 'dabba_jobs_oldest_age_seconds', { queue });
      assert.ok(age >= 0 && age < 3600, `${queue}: oldest ${age} s`);
    }
  });

  it('reports partner calls by partner, operation and outcome, with breaker and bulkhead state', () => {
    const labels = { partner: 'payments', operation: 'authorize', outcome: 'ok' };
    assert.ok(value(samples, 'dabba_partner_call_duration_seconds_count', labels) >= 1);
    assert.ok(value(samples, 'dabba_partner_call_duration_seconds_sum', labels) > 0);
    assert.ok(value(samples, 'dabba_partner_call_duration_seconds_count', { partner: 'pos', operation: 'submit', outcome: 'ok' }) >= 1);
    assert.equal(value(samples, 'dabba_partner_breaker_state', { partner: 'payments' }), 0, 'the payments breaker is closed');
    assert.match(text, /^dabba_partner_breaker_state\{partner="payments"\} 0$/m);
    assert.equal(value(samples, 'dabba_partner_bulkhead_queue_length', { partner: 'payments' }), 0);
  });

  it('reports open client connections', () => {
    const open = value(samples, 'dabba_http_open_connections');
    assert.ok(Number.isInteger(open) && open >= 0, `${open} open connections`);
  });

  it('includes the default Node.js process metrics under the dabba_ prefix', () => {
    assert.ok(value(samples, 'dabba_process_cpu_seconds_total') > 0);
    assert.ok(value(samples, 'dabba_nodejs_heap_size_used_bytes') > 1_000_000);
    assert.ok(find(samples, 'dabba_nodejs_eventloop_lag_seconds').length === 1);
  });
});
