import { createHash } from 'node:crypto';
import rateLimit, { normalizeIP, type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';

type Check = ReturnType<FastifyInstance['createRateLimit']>;

/** Where a limit counts: before the body is read (by address), or once it is parsed (by account, from the body). */
type Hook = 'onRequest' | 'preValidation';

interface Limit {
  /** The limit's name in its keys and in `dabba_http_rate_limited_total{limit}`. */
  name: string;
  /** What is counted, as the 429 says it: "login attempts from this address". */
  what: string;
  key: (req: FastifyRequest) => string | undefined;
  check: Check;
}

const WINDOW_MS = 60_000;
/** Keys each in-memory count keeps (the least recently seen is dropped past it): an attacker cycling addresses or emails must not push a victim's count out. */
const REMEMBERED = 100_000;

const address = (req: FastifyRequest) => normalizeIP(req.ip);

/**
 * The account a login names, as a key: the lower-cased email from the body (parsed, not yet validated,
 * so anything that is not a plausible email counts for no account; validation refuses it next). Hashed,
 * so the shared store holds no email addresses.
 */
function account(req: FastifyRequest) {
  const email = (req.body as { email?: unknown } | undefined)?.email;
  if (typeof email !== 'string' || email.length === 0 || email.length > 254) return undefined;
  return createHash('sha256').update(email.toLowerCase()).digest('base64url');
}

/**
 * The counts shared across processes and nodes. A rate limit is no reason to hold up or fail a request:
 * while Redis is away commands fail at once (no offline queue), a slow one gives up after 500 ms, and
 * the limiter's `skipOnError` lets the request through, so an outage turns the limits off, not the API.
 */
async function connectRedis(app: FastifyInstance, url: string) {
  // Loaded only when there is a Redis to count in: a process counting in memory never needs the client.
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2_000, commandTimeout: 500 });
  let reachable = true;
  // ioredis reports every failed reconnection; one line when Redis goes away, one when it is back.
  redis.on('error', (err) => {
    if (reachable) app.log.warn({ err }, 'rate-limit store (Redis) unreachable: login and registration are not rate-limited until it is back');
    reachable = false;
  });
  redis.on('ready', () => {
    if (!reachable) app.log.info('rate-limit store (Redis) reachable again');
    reachable = true;
  });
  // Not waited for past connectTimeout: the API starts without Redis and picks it up when it comes.
  await redis.connect().catch(() => {});
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  return redis;
}

/**
 * Rate limits on the endpoints that take a password or create an account, against brute force and
 * signup floods: per client address on login and registration (counted in `onRequest`, before the body
 * is read), and per account on login (counted once the body is parsed, so attempts on one account from
 * many addresses are slowed too). Every request counts, valid or not. Fixed one-minute windows; past a
 * limit the answer is 429 with `Retry-After` and problem details, given before admission control, so a
 * refused attempt never takes or waits for a slot. The per-account limit counts requests, whatever
 * their outcome; the failed-login lockout (AuthService) counts failures.
 *
 * Counts live in memory per process, or in Redis (REDIS_URL), shared by every process and node, under
 * `${REDIS_KEY_PREFIX}undefinedundefined-login-address:<address>` and so on: the plugin puts a check's
 * route in its keys, and checks made through createRateLimit have none. The address is the connection's
 * (Fastify's `trustProxy` is off): behind a proxy every client would share the proxy's.
 * @see https://github.com/fastify/fastify-rate-limit
 * @see https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks
 */
async function rateLimits(app: FastifyInstance, opts: { limits: Config['rateLimits'] }) {
  const { loginPerAddress, loginPerAccount, registerPerAddress, redisUrl, redisKeyPrefix } = opts.limits;
  if (loginPerAddress === 0 && loginPerAccount === 0 && registerPerAddress === 0) return;
  const redis = redisUrl ? await connectRedis(app, redisUrl) : undefined;
  // Not global: nothing is limited but the checks below, made through createRateLimit, as the plugin's
  // own hooks apply one limit per request and login has two.
  await app.register(rateLimit, { global: false, redis, nameSpace: redisKeyPrefix, skipOnError: true });

  const limits: Record<Hook, Map<string, Limit[]>> = { onRequest: new Map(), preValidation: new Map() };
  const limit = (hook: Hook, route: string, max: number, name: string, what: string, key: Limit['key']) => {
    if (max === 0) return;
    const options: RateLimitOptions = { max, timeWindow: WINDOW_MS, cache: REMEMBERED, keyGenerator: (req) => `${name}:${key(req)}` };
    limits[hook].set(route, [...(limits[hook].get(route) ?? []), { name, what, key, check: app.createRateLimit(options) }]);
  };
  limit('onRequest', 'POST /v1/auth/login', loginPerAddress, 'login-address', 'login attempts from this address', address);
  limit('preValidation', 'POST /v1/auth/login', loginPerAccount, 'login-account', 'login attempts for this account', account);
  limit('onRequest', 'POST /v1/auth/register', registerPerAddress, 'register-address', 'registrations from this address', address);

  async function enforce(req: FastifyRequest, reply: FastifyReply, checks: Limit[]) {
    for (const { name, what, key, check } of checks) {
      if (key(req) === undefined) continue;
      const result = await check(req);
      if (result.isAllowed || !result.isExceeded) continue;
      app.metrics.httpRateLimited.inc({ limit: name });
      const seconds = Math.max(1, result.ttlInSeconds);
      void reply.header('retry-after', String(seconds));
      throw new AppError(429, 'too-many-requests', 'Too many requests', `Too many ${what} (at most ${result.max} a minute); retry after ${seconds} s.`);
    }
  }
  // Callback hooks, so the requests of every other route pass without a promise.
  for (const hook of ['onRequest', 'preValidation'] as const) {
    app.addHook(hook, (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
      const checks = limits[hook].get(`${req.method} ${req.routeOptions.url}`);
      if (!checks) return done();
      enforce(req, reply, checks).then(() => done(), done);
    });
  }
}

export default fp(rateLimits, { name: 'rate-limits', dependencies: ['metrics'] });
