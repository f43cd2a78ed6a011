import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

describe('config', () => {
  it('runs on defaults alone', () => {
    const c = loadConfig({});
    assert.equal(c.port, 3000);
    assert.equal(c.database.url, undefined);
    assert.equal(c.logLevel, 'info');
    assert.ok(c.seedDemo);
    assert.ok(c.dataDir.endsWith('/data'));
  });

  const wrong: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'nonsense' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://[bad' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ PAYMENTS_URL: 'ftp://x' }, 'PAYMENTS_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ ADMISSION_MAX_IN_FLIGHT: '-1' }, 'ADMISSION_MAX_IN_FLIGHT'],
    [{ ADMISSION_MAX_IN_FLIGHT: 'lots' }, 'ADMISSION_MAX_IN_FLIGHT'],
    [{ FEED_MAX_IN_FLIGHT: '100001' }, 'FEED_MAX_IN_FLIGHT'],
    [{ FEED_MAX_IN_FLIGHT: 'some' }, 'FEED_MAX_IN_FLIGHT'],
    [{ ADMISSION_MAX_WAIT_MS: '-5' }, 'ADMISSION_MAX_WAIT_MS'],
    [{ ADMISSION_MAX_WAITING: 'many' }, 'ADMISSION_MAX_WAITING'],
    [{ DATABASE_STATEMENT_CACHE: '-1' }, 'DATABASE_STATEMENT_CACHE'],
    [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
    [{ REDIS_URL: 'redis://[bad' }, 'REDIS_URL'],
    [{ LOGIN_RATE_PER_MINUTE: '-1' }, 'LOGIN_RATE_PER_MINUTE'],
    [{ LOGIN_ACCOUNT_RATE_PER_MINUTE: 'ten' }, 'LOGIN_ACCOUNT_RATE_PER_MINUTE'],
    [{ REGISTER_RATE_PER_MINUTE: '100001' }, 'REGISTER_RATE_PER_MINUTE'],
    [{ REDIS_KEY_PREFIX: 'x'.repeat(65) }, 'REDIS_KEY_PREFIX'],
    [{ REQUEST_HEADERS_TIMEOUT_MS: '0' }, 'REQUEST_HEADERS_TIMEOUT_MS'],
    [{ REQUEST_TIMEOUT_MS: '600001' }, 'REQUEST_TIMEOUT_MS'],
    [{ REQUEST_HEADERS_TIMEOUT_MS: '30000', REQUEST_TIMEOUT_MS: '20000' }, 'REQUEST_HEADERS_TIMEOUT_MS'],
  ];
  for (const [env, variable] of wrong) {
    it(`refuses ${JSON.stringify(env)} with one line naming ${variable}`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) =>
          err instanceof ConfigError && err.message.includes(variable) && !err.message.includes('\n'),
      );
    });
  }

  // Error messages reach terminals, CI logs and crash reports: the secret in a rejected value must not.
  const secrets: [string, Record<string, string>, RegExp][] = [
    ['a short JWT_SECRET is shown by its length only', { JWT_SECRET: 's3cret-too-short' }, /\(got 16 characters\)$/],
    ['a DATABASE_URL that does not parse is not shown', { DATABASE_URL: 'postgres://u:s3cret-pw@[bad' }, /\(got 27 characters that are not a URL; not shown/],
    ['a password typed into DATABASE_URL is not shown', { DATABASE_URL: 's3cret-pw' }, /\(got 9 characters that are not a URL; not shown/],
    [
      'a DATABASE_URL with a space shows its password as ***',
      { DATABASE_URL: 'postgres://u:s3cret pw@db.internal:5432/dabba' },
      /no spaces \(got "postgres:\/\/u:\*\*\*@db\.internal:5432\/dabba"\)$/,
    ],
    [
      'a DATABASE_URL with the password in its query shows no query',
      { DATABASE_URL: 'postgres://db.internal/dabba?password=s3cret-pw&sslmode=require ' },
      /"postgres:\/\/db\.internal\/dabba\?…"/,
    ],
    ['a partner URL shows neither its password nor its path', { PAYMENTS_URL: 'https://api:s3cret-pw@pay.example/v1 2' }, /"https:\/\/api:\*\*\*@pay\.example\/…"/],
    ['a webhook URL does not show the token in its path', { NOTIFY_URL: 'https://hooks.example/services/T0/s3cret-pw x' }, /"https:\/\/hooks\.example\/…"/],
    [
      'a token given as the user name of OTEL_EXPORTER_OTLP_ENDPOINT is shown as ***',
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://s3cret-pw@collector:4317' },
      /"grpc:\/\/\*\*\*@collector:4317"/,
    ],
    ['a REDIS_URL shows its password as ***', { REDIS_URL: 'redis://:s3cret-pw@cache.internal:6379/0 x' }, /"redis:\/\/:\*\*\*@cache\.internal:6379\/…"/],
  ];
  for (const [name, env, expected] of secrets) {
    const variable = Object.keys(env)[0]!;
    it(`refusing config: ${name}, in one line naming ${variable}`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, new RegExp(`^Invalid configuration: ${variable} `));
          assert.doesNotMatch(err.message, /s3cret|\n/);
          assert.match(err.message, expected);
          return true;
        },
      );
    });
  }

  it('refuses production without a JWT secret, and skips the demo seed in production', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), /JWT_SECRET/);
    const c = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) });
    assert.equal(c.seedDemo, false);
    assert.equal(c.jwt.secret, 'x'.repeat(40));
  });

  it('`dabba serve` (mode production) needs a real JWT_SECRET and never seeds, whatever NODE_ENV says', () => {
    const published = loadConfig({}).jwt.secret;
    for (const NODE_ENV of [undefined, 'development', 'test']) {
      const env: Record<string, string> = NODE_ENV ? { NODE_ENV } : {};
      assert.throws(
        () => loadConfig(env, { mode: 'production' }),
        (err: unknown) => err instanceof ConfigError && /^Invalid configuration: JWT_SECRET must be set/.test(err.message) && !err.message.includes('\n'),
      );
      assert.throws(
        () => loadConfig({ ...env, JWT_SECRET: published }, { mode: 'production' }),
        (err: unknown) => err instanceof ConfigError && /^Invalid configuration: JWT_SECRET .*published/.test(err.message) && !err.message.includes(published),
      );
      const c = loadConfig({ ...env, SEED_DEMO: 'true', JWT_SECRET: 'y'.repeat(40) }, { mode: 'production' });
      assert.equal(c.mode, 'production');
      assert.equal(c.seedDemo, false);
      assert.equal(c.jwt.published, false);
    }
    // Asking for development cannot loosen NODE_ENV=production.
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }, { mode: 'development' }), /JWT_SECRET/);
  });

  it('`dabba up` (development) runs on the published secret, says so, and seeds', () => {
    const c = loadConfig({});
    assert.equal(c.mode, 'development');
    assert.equal(c.jwt.published, true);
    assert.ok(c.jwt.secret.length >= 32);
    assert.ok(c.seedDemo);
    assert.equal(loadConfig({ JWT_SECRET: 'z'.repeat(32) }).jwt.published, false);
  });

  it('trusts cached account state 15 s and locks an email out after 5 failures for 15 minutes by default', () => {
    assert.deepEqual(loadConfig({}).auth, { cacheTtlMs: 15_000, maxFailures: 5, lockoutSeconds: 900 });
    assert.equal(loadConfig({ AUTH_CACHE_TTL_MS: '0' }).auth.cacheTtlMs, 0);
    assert.throws(() => loadConfig({ AUTH_CACHE_TTL_MS: '60001' }), /AUTH_CACHE_TTL_MS/);
    assert.throws(() => loadConfig({ LOGIN_MAX_FAILURES: '0' }), /LOGIN_MAX_FAILURES/);
  });

  it('limits 256 requests in flight per route and 32 feeds by default; a feed limit of 0 means the per-route one', () => {
    const c = loadConfig({});
    assert.equal(c.admission.maxInFlight, 256);
    assert.equal(c.feed.maxInFlight, 32);
    const fallback = loadConfig({ ADMISSION_MAX_IN_FLIGHT: '500', FEED_MAX_IN_FLIGHT: '0' });
    assert.equal(fallback.feed.maxInFlight, 500);
    assert.equal(loadConfig({ ADMISSION_MAX_IN_FLIGHT: '0' }).admission.maxInFlight, 0);
  });

  it('reads requests in 10 s of headers and 20 s in all by default, and either can be set', () => {
    assert.deepEqual(loadConfig({}).requestTimeouts, { headersMs: 10_000, wholeMs: 20_000 });
    const c = loadConfig({ REQUEST_HEADERS_TIMEOUT_MS: '2000', REQUEST_TIMEOUT_MS: '3000' });
    assert.deepEqual(c.requestTimeouts, { headersMs: 2_000, wholeMs: 3_000 });
  });

  it('limits logins to 10 a minute per address and 5 per account, registrations to 5 per address, in memory by default', () => {
    assert.deepEqual(loadConfig({}).rateLimits, {
      loginPerAddress: 10,
      loginPerAccount: 5,
      registerPerAddress: 5,
      redisUrl: undefined,
      redisKeyPrefix: 'dabba:rate-limit:',
    });
    const c = loadConfig({ LOGIN_RATE_PER_MINUTE: '0', REDIS_URL: 'rediss://cache.internal:6380/2', REDIS_KEY_PREFIX: 'staging:' });
    assert.equal(c.rateLimits.loginPerAddress, 0);
    assert.equal(c.rateLimits.redisUrl, 'rediss://cache.internal:6380/2');
    assert.equal(c.rateLimits.redisKeyPrefix, 'staging:');
  });

  it('reads typed values from strings', () => {
    const c = loadConfig({ PORT: '8080', DATABASE_POOL_MAX: '7', SEED_DEMO: 'false', DATABASE_URL: 'postgres://u@h:5432/d' });
    assert.equal(c.port, 8080);
    assert.equal(c.database.poolMax, 7);
    assert.equal(c.seedDemo, false);
    assert.equal(c.database.url, 'postgres://u@h:5432/d');
  });
});
