import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { setup } from './helper.ts';

// One connection and a short wait, so the test can occupy the whole pool.
const ctx = await setup({ env: { DATABASE_POOL_MAX: '1', DATABASE_POOL_WAIT_MS: '200' }, background: false });
const nearby = '/v1/restaurants?lat=19.076&lng=72.8777';

describe('a saturated database pool', () => {
  it('answers 503 with Retry-After and a problem body, never a 500, and recovers once a connection frees', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holding = ctx.app.db.transaction().execute(async (tx) => {
      await sql`SELECT 1`.execute(tx);
      await held;
    });
    await sleep(50);

    const refused = await ctx.app.inject(nearby);
    release();
    await holding;

    assert.equal(refused.statusCode, 503, refused.body);
    assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
    assert.equal(refused.headers['retry-after'], '2');
    const problem = refused.json();
    assert.equal(problem.type, 'https://dabba.dev/problems/overloaded');
    assert.equal(problem.status, 503);
    assert.doesNotMatch(refused.body, /timeout exceeded|SELECT/);

    const served = await ctx.app.inject(nearby);
    assert.equal(served.statusCode, 200);
  });
});

describe('shedding on the database queue', async () => {
  // A long pool wait, so requests queue for the connection instead of timing out.
  const busy = await setup({
    env: { DATABASE_POOL_MAX: '1', DATABASE_POOL_WAIT_MS: '10000', SHED_MAX_DB_WAITING: '2' },
    background: false,
  });

  it('refuses new requests with 503 while more queries wait for a connection than the limit, then recovers', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holding = busy.app.db.transaction().execute(async (tx) => {
      await sql`SELECT 1`.execute(tx);
      await held;
    });
    await sleep(50);
    // Three queued queries: over the limit of two.
    const queued = [1, 2, 3].map(() => busy.app.inject(nearby));
    await sleep(300);

    const refused = await busy.app.inject(nearby);
    const health = await busy.app.inject('/healthz');
    release();
    await holding;
    const served = await Promise.all(queued);

    assert.equal(refused.statusCode, 503, refused.body);
    assert.equal(refused.json().type, 'https://dabba.dev/problems/overloaded');
    assert.match(refused.json().detail, /waiting for a database connection/);
    assert.ok(refused.headers['retry-after']);
    assert.equal(health.statusCode, 200, 'probes are never shed');
    assert.deepEqual(served.map((r) => r.statusCode), [200, 200, 200], 'requests already accepted are served');

    await sleep(300);
    assert.equal((await busy.app.inject(nearby)).statusCode, 200);
  });
});

describe('PostgreSQL refusing connections', () => {
  it('is answered as overload (503), not as a fault', async () => {
    const { isPoolExhausted } = await import('../src/db/database.ts');
    const refused = Object.assign(new Error('sorry, too many clients already'), { code: '53300' });
    const starting = Object.assign(new Error('the database system is starting up'), { code: '57P03' });
    const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
    assert.equal(isPoolExhausted(refused), true);
    assert.equal(isPoolExhausted(starting), true);
    assert.equal(isPoolExhausted(new Error('timeout exceeded when trying to connect')), true);
    assert.equal(isPoolExhausted(syntax), false);
    assert.equal(isPoolExhausted('53300'), false);
  });
});
