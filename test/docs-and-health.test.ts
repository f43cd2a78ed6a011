import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setup } from './helper.ts';

const ctx = await setup();

describe('docs and health', () => {
  it('publishes an OpenAPI 3.1 document covering every /v1 route with a response schema per status', async () => {
    const res = await ctx.app.inject('/openapi.json');
    assert.equal(res.statusCode, 200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    assert.match(doc.openapi, /^3\.1/);
    const routes = ctx.app.printRoutes({ commonPrefix: false });
    for (const expected of [
      '/v1/auth/register',
      '/v1/auth/login',
      '/v1/restaurants',
      '/v1/restaurants/{id}',
      '/v1/restaurants/{id}/menu',
      '/v1/restaurants/{id}/menu/{itemId}',
      '/v1/orders',
      '/v1/orders/{id}',
      '/v1/orders/{id}/cancel',
      '/v1/orders/{id}/accept',
      '/v1/orders/{id}/assign',
      '/v1/courier/shift',
      '/v1/courier/location',
      '/v1/courier/stream-ticket',
      '/v1/auth/stream-ticket',
      '/v1/orders/{id}/track',
      '/v1/restaurants/{id}/orders/stream',
      '/v1/ops/stream',
    ]) {
      assert.ok(doc.paths[expected], `${expected} is documented`);
      for (const [method, op] of Object.entries(doc.paths[expected]!)) {
        const codes = Object.keys(op.responses);
        assert.ok(codes.some((c) => c.startsWith('2')), `${method} ${expected} documents its success`);
        assert.ok(codes.some((c) => c.startsWith('4')), `${method} ${expected} documents its problems`);
      }
    }
    assert.ok(routes.includes('orders'));
  });

  it('serves the interactive docs at /docs', async () => {
    const res = await ctx.app.inject('/docs/');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
  });

  it('answers /healthz while alive and /readyz only while ready', async () => {
    assert.deepEqual((await ctx.app.inject('/healthz')).json(), { status: 'ok' });
    const ready = await ctx.app.inject('/readyz');
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json().database, true);
    ctx.app.services.health.markShuttingDown();
    const draining = await ctx.app.inject('/readyz');
    assert.equal(draining.statusCode, 503);
    assert.equal(draining.json().shutting_down, true);
  });
});
