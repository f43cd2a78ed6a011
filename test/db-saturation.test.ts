import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, setup } from './helper.ts';

// One connection and a short wait, so the test can occupy the whole pool.
const ctx = await setup({ env: { DATABASE_POOL_MAX: '1', DATABASE_POOL_WAIT_MS: '200' }, background: false });
const nearby = '/v1/restaurants?lat=19.076&lng=72.8777';

describe('a saturated database pool', () => {
  it('answers 503 with Retry-After and a problem body, never a 500, and recovers once a connection frees', async () => {
    // A lock held from outside makes the app's first query wait while holding its only connection.
    const lock = await ctx.sql.connect();
    let holding: Promise<{ statusCode: number }> | undefined;
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE restaurants IN ACCESS EXCLUSIVE MODE');
      holding = ctx.app.inject(nearby);
      await eventually('the app\'s query waits at the lock', async () => {
        const { rows } = await ctx.sql.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'restaurants'::regclass`,
        );
        return rows[0]!.n > 0;
      });
      const refused = await ctx.app.inject(nearby);
      assert.equal(refused.statusCode, 503, refused.body);
      assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
      assert.equal(refused.headers['retry-after'], '2');
      const problem = refused.json();
      assert.equal(problem.type, 'https://dabba.dev/problems/overloaded');
      assert.equal(problem.status, 503);
      assert.doesNotMatch(refused.body, /timeout exceeded|SELECT/);
    } finally {
      await lock.query('COMMIT');
      lock.release();
    }
    assert.equal((await holding).statusCode, 200, 'the request that held the connection is served');
    const served = await ctx.app.inject(nearby);
    assert.equal(served.statusCode, 200);
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
