import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CENTER, createRestaurant, createUser, placeOrder, setup } from './helper.ts';

const ctx = await setup();

const hasPromtool = spawnSync('which', ['promtool'], { stdio: 'ignore' }).status === 0;

/** `promtool check metrics` reads the page on stdin; it prints one line per problem and exits non-zero. */
async function promtoolCheck(page: string) {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  child.stdin.end(page);
  return { code: await exited, output };
}

describe('GET /metrics against Prometheus’s own linter', () => {
  it('passes `promtool check metrics` once requests, a 404, an order and its partner calls have filled in the labelled series', async (t) => {
    if (!hasPromtool) {
      t.skip('promtool is not installed');
      return;
    }
    const nearby = await ctx.app.inject({ method: 'GET', url: `/v1/restaurants?lat=${CENTER.lat}&lng=${CENTER.lng}` });
    assert.equal(nearby.statusCode, 200, nearby.body);
    const missing = await ctx.app.inject({ method: 'GET', url: '/v1/no-such-thing-9b2e' });
    assert.equal(missing.statusCode, 404);
    const customer = await createUser(ctx, 'customer');
    const restaurant = await createRestaurant(ctx, await createUser(ctx, 'restaurant'), { pos: true });
    await placeOrder(ctx, customer, restaurant);

    const res = await ctx.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /^dabba_http_request_duration_seconds_count\{[^}]*status_code="404"[^}]*\} 1$/m, 'the 404 is on the page');
    assert.match(res.body, /^dabba_partner_attempts_total\{/m, 'partner attempts are on the page');

    const { code, output } = await promtoolCheck(res.body);
    assert.equal(code, 0, `promtool check metrics exited ${code}:\n${output}`);
    assert.equal(output.trim(), '', `promtool check metrics found problems:\n${output}`);
  });
});
