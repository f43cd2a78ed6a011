import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';

const Port = (fallback: number) => Type.Integer({ minimum: 0, maximum: 65535, default: fallback });
const Url = Type.String({ pattern: '^https?://[^\\s]+$' });

const Ms = (minimum: number, maximum: number, fallback: number) => Type.Integer({ minimum, maximum, default: fallback });
const Count = (minimum: number, maximum: number, fallback: number) => Type.Integer({ minimum, maximum, default: fallback });

/** Where the API listens, how many processes serve, how long a client may take to send a request, how they stop. */
const Server = {
  NODE_ENV: Type.Enum(['development', 'test', 'production'], { default: 'development' }),
  PORT: Port(3000),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  WORKERS: Count(1, 256, 1),
  SHUTDOWN_TIMEOUT_MS: Ms(100, 600_000, 10_000),
  // A request's headers must arrive within REQUEST_HEADERS_TIMEOUT_MS of its first byte, the whole request
  // (headers and body) within REQUEST_TIMEOUT_MS; past either it gets 408 and its connection is closed.
  // Reading only: a handler's own time is not counted. Short, so slow senders cannot pile up.
  REQUEST_HEADERS_TIMEOUT_MS: Ms(1_000, 300_000, 10_000),
  REQUEST_TIMEOUT_MS: Ms(1_000, 600_000, 20_000),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  // Unset: pino-pretty when stdout is a terminal, JSON lines otherwise.
  LOG_FORMAT: Type.Optional(Type.Enum(['pretty', 'json'])),
};

/** PostgreSQL: the server, the pool, and the embedded one `dabba up` runs when no URL is given. */
const Database = {
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://[^\\s]+$' })),
  DATABASE_POOL_MAX: Count(1, 500, 20),
  DATABASE_POOL_WAIT_MS: Ms(10, 60_000, 5_000),
  // 0 = off: a proxy that pools by transaction (PgBouncer's transaction mode) cannot keep statements prepared.
  DATABASE_STATEMENT_CACHE: Count(0, 10_000, 256),
  EMBEDDED_PG_PORT: Port(54329),
  DABBA_DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  SEED_DEMO: Type.Boolean({ default: true }),
};

/** Accounts and tokens. */
const Auth = {
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_TTL_SECONDS: Count(60, 2_592_000, 86_400),
  // How long a node trusts its cached copy of an account's role and token version: the most a logout,
  // role change or deletion made on another node takes to reach this one (0 = ask the database every request).
  AUTH_CACHE_TTL_MS: Ms(0, 60_000, 15_000),
  // Failed sign-ins per email within LOGIN_LOCKOUT_SECONDS before every attempt for it is refused (429) for as long.
  LOGIN_MAX_FAILURES: Count(1, 1_000, 5),
  LOGIN_LOCKOUT_SECONDS: Count(1, 86_400, 900),
};

/** Requests per minute per client address (login, registration) and per account (login); 0 = that limit off. */
const RateLimits = {
  LOGIN_RATE_PER_MINUTE: Count(0, 100_000, 10),
  LOGIN_ACCOUNT_RATE_PER_MINUTE: Count(0, 100_000, 5),
  REGISTER_RATE_PER_MINUTE: Count(0, 100_000, 5),
  // Counts shared by every process and node; unset, each process counts in its own memory.
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$' })),
  // Before every key dabba writes to Redis, so deployments can share one.
  REDIS_KEY_PREFIX: Type.String({ minLength: 1, maxLength: 64, default: 'dabba:rate-limit:' }),
};

/** The outside systems, and the resilience chain every call to them goes through. */
const Partners = {
  PAYMENTS_URL: Type.Optional(Url),
  POS_URL: Type.Optional(Url),
  ETA_URL: Type.Optional(Url),
  NOTIFY_URL: Type.Optional(Url),
  CATALOG_URL: Type.Optional(Url),
  SIM_PORT: Port(3100),
  PARTNER_MAX_IN_FLIGHT: Count(1, 100_000, 512),
  PARTNER_MAX_QUEUE: Count(0, 1_000_000, 2048),
  PARTNER_CONNECTIONS: Count(1, 10_000, 128),
  PARTNER_MAX_ATTEMPTS: Count(1, 10, 3),
  PARTNER_BREAKER_THRESHOLD: Count(1, 1000, 20),
  PARTNER_BREAKER_HALF_OPEN_MS: Ms(10, 600_000, 5_000),
};

/** The order's flow, its background follow-ups, and the home feed. */
const Orders = {
  ORDER_FLOW_DEADLINE_MS: Ms(100, 60_000, 3_000),
  TABLET_ACCEPT_TIMEOUT_MS: Ms(1_000, 3_600_000, 300_000),
  PLACED_STUCK_AFTER_MS: Ms(1_000, 3_600_000, 60_000),
  SWEEP_INTERVAL_MS: Ms(100, 600_000, 10_000),
  // A confirmed order no courier has picked up by then is cancelled and its payment released.
  PICKUP_TIMEOUT_MS: Ms(1_000, 86_400_000, 7_200_000),
  JOB_POLL_INTERVAL_MS: Ms(500, 60_000, 1_000),
  FEED_DEADLINE_MS: Ms(50, 10_000, 800),
  FEED_RESTAURANTS: Count(1, 50, 10),
  // The menu sync from the catalog: when it runs (a cron expression, `off` = never), how many restaurants
  // it asks at once and how long each may take, and how old a last sync may be before a menu reads as stale.
  MENU_SYNC_CRON: Type.String({ pattern: '^(off|\\S+(\\s+\\S+){4,5})$', maxLength: 100, default: '* * * * *' }),
  MENU_SYNC_CONCURRENCY: Count(1, 256, 8),
  MENU_SYNC_DEADLINE_MS: Ms(100, 60_000, 3_000),
  MENU_STALE_AFTER_MS: Ms(1_000, 86_400_000, 180_000),
};

/** Staying fast under load: load shedding, per-route admission control, the blocked-loop monitor. */
const Overload = {
  SHED_MAX_LOOP_DELAY_MS: Ms(0, 60_000, 100),
  // 0 = 90% of V8's heap limit.
  SHED_MAX_HEAP_BYTES: Type.Integer({ minimum: 0, default: 0 }),
  SHED_RETRY_AFTER_SECONDS: Count(1, 3600, 2),
  // 0 = off (the feed's limit included). In-flight requests per /v1 route past which new ones wait, then get 503.
  ADMISSION_MAX_IN_FLIGHT: Count(0, 100_000, 256),
  // 0 = ADMISSION_MAX_IN_FLIGHT. Lower because each feed holds 2×FEED_RESTAURANTS partner calls at once:
  // with PARTNER_CONNECTIONS (128) sockets per partner only about a dozen feeds fit before partner calls
  // queue, so past a few dozen feeds in flight another admission only adds latency to all of them
  // (32 against 64 in bench/README.md: the same goodput, lower latency under overload).
  FEED_MAX_IN_FLIGHT: Count(0, 100_000, 32),
  // 0 = refuse at once. How long a request past its route's limit may wait for a slot (newest first).
  ADMISSION_MAX_WAIT_MS: Ms(0, 60_000, 1_000),
  ADMISSION_MAX_WAITING: Count(0, 1_000_000, 8_192),
  // 0 = no limit. Waits that may end in a 503 per second; past it a request keeps waiting (still eligible for a
  // slot). A 503 costs what a small answer costs, and a client ignoring Retry-After is back at once (finding 7).
  ADMISSION_REFUSALS_PER_SECOND: Count(0, 1_000_000, 500),
  BLOCKED_LOOP_THRESHOLD_MS: Ms(0, 60_000, 100),
};

/** Couriers on shift, dispatch and the live streams; NATS carries them between nodes. */
const Live = {
  // Unset: one node, events stay in the process. Set: every node shares moves, positions and offers over NATS.
  NATS_URL: Type.Optional(Type.String({ pattern: '^(nats|tls|ws|wss)://[^\\s]+$' })),
  NATS_SUBJECT_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', default: 'dabba' }),
  DISPATCH_INTERVAL_MS: Ms(100, 600_000, 5_000),
  OFFER_TIMEOUT_MS: Ms(1_000, 600_000, 30_000),
  // A confirmed order no courier has taken by then raises an alert (metric, log); it keeps being offered.
  DISPATCH_ALERT_AFTER_MS: Ms(1_000, 86_400_000, 600_000),
  // H3 resolution of a dispatch zone (6: cells of ~36 km², a city district).
  DISPATCH_ZONE_RESOLUTION: Count(0, 15, 6),
  // The speed travel times are estimated at, and how far a courier may be sent to a pickup.
  DISPATCH_SPEED_KMH: Count(1, 150, 20),
  DISPATCH_MAX_PICKUP_KM: Count(1, 1_000, 10),
  DISPATCH_SOLVER_THREADS: Count(1, 64, 1),
  // How often a node tries to take the dispatch of zones nobody leads (a dead leader's, within this).
  DISPATCH_LEASE_CHECK_MS: Ms(100, 60_000, 2_000),
  COURIER_STALE_AFTER_MS: Ms(1_000, 3_600_000, 30_000),
  COURIER_OFF_SHIFT_AFTER_MS: Ms(1_000, 86_400_000, 120_000),
  // High enough for `dabba demo`'s couriers, whose city speeds are multiplied by DEMO_TIME_SCALE.
  COURIER_MAX_SPEED_KMH: Count(1, 100_000, 150),
  // At most one accepted position per courier per interval; the excess is coalesced (the latest wins).
  COURIER_MIN_FIX_INTERVAL_MS: Ms(0, 60_000, 1_000),
  COURIER_POSITION_FLUSH_MS: Ms(100, 60_000, 1_000),
  LIVE_HEARTBEAT_MS: Ms(1_000, 300_000, 15_000),
  // Bytes a live connection may have queued for a slow reader before it is disconnected (status events are never dropped).
  LIVE_MAX_BUFFER_BYTES: Count(1_024, 64 * 1024 * 1024, 65_536),
  LIVE_POSITION_INTERVAL_MS: Ms(100, 60_000, 1_000),
  // What an SSE client is told to wait before reconnecting (`retry:`), after a drop or a node's shutdown.
  LIVE_RECONNECT_MS: Ms(100, 60_000, 1_000),
  STREAM_TICKET_TTL_SECONDS: Count(5, 600, 30),
};

/** The web pages the API serves at `/`. */
const Pages = {
  // Unset: web/dist in the project, where `npm run build:web` writes them.
  WEB_DIST_DIR: Type.Optional(Type.String({ minLength: 1 })),
};

/** Order exports, streamed from a pool of connections of their own so they never take order traffic's. */
const Exports = {
  // Exports at once per process, each holding one connection (beside DATABASE_POOL_MAX's) for as long as it streams.
  EXPORT_MAX_CONCURRENT: Count(1, 64, 2),
  // An export still streaming after this is cut: a slow reader cannot hold a connection, and an old snapshot, for ever.
  EXPORT_MAX_DURATION_MS: Ms(1_000, 86_400_000, 900_000),
};

/** `dabba demo`: the simulated city's customers, kitchens and couriers driving the API (sim/city). */
const Demo = {
  // Per real minute, whatever DEMO_TIME_SCALE says: the load the API sees.
  DEMO_ORDERS_PER_MIN: Type.Number({ exclusiveMinimum: 0, maximum: 6_000, default: 6 }),
  // Divides every delay of the city (a kitchen's reaction, preparation, a ride): 60 makes a city minute a second.
  DEMO_TIME_SCALE: Type.Number({ minimum: 1, maximum: 1_000, default: 1 }),
  DEMO_MAX_IN_FLIGHT: Count(1, 10_000, 60),
  DEMO_MAX_ORDERS: Count(1, 1_000_000, 10_000),
  // 0 = until stopped.
  DEMO_MINUTES: Type.Number({ minimum: 0, maximum: 10_080, default: 0 }),
  // Errors per request (and socket message) past which the run ends with exit code 1.
  DEMO_MAX_ERROR_RATE: Type.Number({ minimum: 0, maximum: 1, default: 0.02 }),
  // How many of the demo city's couriers (60) and customers (20) take part.
  DEMO_COURIERS: Count(1, 60, 60),
  DEMO_CUSTOMERS: Count(1, 20, 20),
};

/** Tracing export. */
const Tracing = {
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Url),
  OTEL_SDK_DISABLED: Type.Boolean({ default: false }),
};

/** Every variable dabba reads, grouped by concern, with its default: the one place the environment is described. */
export const EnvSchema = Type.Object({ ...Server, ...Database, ...Auth, ...RateLimits, ...Partners, ...Orders, ...Overload, ...Live, ...Pages, ...Exports, ...Demo, ...Tracing });
export type Env = Static<typeof EnvSchema>;

const WEB_DIST_DEFAULT = fileURLToPath(new URL('../web/dist', import.meta.url));

/** Used only outside production, where a missing secret must not stop a first `npm start`. Published, so never accepted in production. */
const DEVELOPMENT_SECRET = 'dabba-development-secret-not-for-production-use';

/**
 * `production` (what `dabba serve` asks for, and what NODE_ENV=production makes of any command) needs a
 * real JWT_SECRET and never seeds the demo city; `development` (`dabba up`) runs on published defaults.
 */
export type Mode = 'production' | 'development';
export interface LoadOptions {
  /** `production` whatever NODE_ENV says; absent or `development`, NODE_ENV decides (it can only make things stricter). */
  mode?: Mode;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Schema messages such as "must match pattern ^https?://…" are rewritten to say what is expected. */
function expectation(variable: string, message: string): string {
  const schema = (EnvSchema.properties as Record<string, { enum?: string[]; pattern?: string }>)[variable];
  if (schema?.enum) return `must be one of ${schema.enum.join(', ')}`;
  if (schema?.pattern && !schema.pattern.includes('://')) return `must match ${schema.pattern}`;
  if (schema?.pattern) return `must be a ${schema.pattern.slice(1).split(':')[0]?.replace('(ql)?', '').replace('s?', '(s)')}:// URL with no spaces`;
  return message;
}

const SECRETS = new Set(['JWT_SECRET']);
const isUrlVariable = (variable: string) =>
  (EnvSchema.properties as Record<string, { pattern?: string }>)[variable]?.pattern?.includes('://') ?? false;

/**
 * The value as it may appear in an error message, which ends up in terminals, CI logs and crash
 * reports: a secret only by its length; a URL without what may hold a credential: the password, a lone
 * user name (how tokens are put in URLs), the query (PostgreSQL reads `?password=`) and, but for
 * PostgreSQL's database name, the path (webhook URLs carry their token there); a URL variable that
 * does not parse, not at all, as it may be a password pasted in the wrong place.
 */
function shown(variable: string, raw: unknown): string {
  if (raw === undefined) return 'it is not set';
  const text = String(raw);
  if (SECRETS.has(variable)) return `got ${text.length} characters`;
  if (!isUrlVariable(variable)) return `got ${JSON.stringify(raw)}`;
  if (!URL.canParse(text)) return `got ${text.length} characters that are not a URL; not shown, as they may hold a password`;
  const u = new URL(text);
  const credentials = u.password ? `${u.username}:***@` : u.username ? '***@' : '';
  const where = u.protocol.startsWith('postgres') || u.pathname.length <= 1 ? u.pathname : '/…';
  const rest = `${u.search ? '?…' : ''}${u.hash ? '#…' : ''}`;
  return `got ${JSON.stringify(`${u.protocol}//${credentials}${u.host}${where}${rest}`)}`;
}

function describe(variable: string, raw: unknown, message: string): string {
  return `Invalid configuration: ${variable} ${message} (${shown(variable, raw)})`;
}

/** Parses the environment once; throws a ConfigError whose message names the wrong variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, opts: LoadOptions = {}) {
  const known = Object.keys(EnvSchema.properties);
  const input: Record<string, unknown> = {};
  for (const key of known) {
    const value = source[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const env = Value.Convert(EnvSchema, Value.Default(EnvSchema, input)) as Record<string, unknown>;
  const [first] = Value.Errors(EnvSchema, env);
  if (first) {
    const variable = first.instancePath.split('/')[1] ?? first.instancePath;
    throw new ConfigError(describe(variable, input[variable], expectation(variable, first.message)));
  }
  const e = env as Env;
  if (e.DATABASE_URL !== undefined && !URL.canParse(e.DATABASE_URL)) {
    throw new ConfigError(describe('DATABASE_URL', e.DATABASE_URL, 'is not a valid URL'));
  }
  if (e.REDIS_URL !== undefined && !URL.canParse(e.REDIS_URL)) {
    throw new ConfigError(describe('REDIS_URL', e.REDIS_URL, 'is not a valid URL'));
  }
  if (e.REQUEST_HEADERS_TIMEOUT_MS > e.REQUEST_TIMEOUT_MS) {
    throw new ConfigError(describe('REQUEST_HEADERS_TIMEOUT_MS', e.REQUEST_HEADERS_TIMEOUT_MS, `must not be longer than REQUEST_TIMEOUT_MS (${e.REQUEST_TIMEOUT_MS})`));
  }
  const mode: Mode = opts.mode === 'production' || e.NODE_ENV === 'production' ? 'production' : 'development';
  if (mode === 'production' && e.JWT_SECRET === undefined) {
    throw new ConfigError(describe('JWT_SECRET', undefined, 'must be set (32+ characters) in production (`dabba serve` or NODE_ENV=production)'));
  }
  if (mode === 'production' && e.JWT_SECRET === DEVELOPMENT_SECRET) {
    throw new ConfigError(describe('JWT_SECRET', e.JWT_SECRET, 'must not be the published development secret in production'));
  }
  return {
    env: e.NODE_ENV,
    mode,
    port: e.PORT,
    host: e.HOST,
    requestTimeouts: { headersMs: e.REQUEST_HEADERS_TIMEOUT_MS, wholeMs: e.REQUEST_TIMEOUT_MS },
    database: {
      url: e.DATABASE_URL,
      poolMax: e.DATABASE_POOL_MAX,
      poolWaitMs: e.DATABASE_POOL_WAIT_MS,
      statementCache: e.DATABASE_STATEMENT_CACHE,
      embeddedPort: e.EMBEDDED_PG_PORT,
    },
    dataDir: path.resolve(e.DABBA_DATA_DIR),
    partners: {
      payments: e.PAYMENTS_URL,
      pos: e.POS_URL,
      eta: e.ETA_URL,
      notify: e.NOTIFY_URL,
      catalog: e.CATALOG_URL,
    },
    simPort: e.SIM_PORT,
    resilience: {
      maxInFlight: e.PARTNER_MAX_IN_FLIGHT,
      maxQueued: e.PARTNER_MAX_QUEUE,
      connections: e.PARTNER_CONNECTIONS,
      maxAttempts: e.PARTNER_MAX_ATTEMPTS,
      breakerThreshold: e.PARTNER_BREAKER_THRESHOLD,
      breakerHalfOpenAfterMs: e.PARTNER_BREAKER_HALF_OPEN_MS,
    },
    orders: {
      flowDeadlineMs: e.ORDER_FLOW_DEADLINE_MS,
      tabletAcceptTimeoutMs: e.TABLET_ACCEPT_TIMEOUT_MS,
      placedStuckAfterMs: e.PLACED_STUCK_AFTER_MS,
      sweepIntervalMs: e.SWEEP_INTERVAL_MS,
      pickupTimeoutMs: e.PICKUP_TIMEOUT_MS,
    },
    jobs: { pollIntervalMs: e.JOB_POLL_INTERVAL_MS },
    feed: {
      deadlineMs: e.FEED_DEADLINE_MS,
      restaurants: e.FEED_RESTAURANTS,
      maxInFlight: e.FEED_MAX_IN_FLIGHT || e.ADMISSION_MAX_IN_FLIGHT,
    },
    menuSync: {
      cron: e.MENU_SYNC_CRON === 'off' ? null : e.MENU_SYNC_CRON,
      concurrency: e.MENU_SYNC_CONCURRENCY,
      deadlineMs: e.MENU_SYNC_DEADLINE_MS,
      staleAfterMs: e.MENU_STALE_AFTER_MS,
    },
    jwt: { secret: e.JWT_SECRET ?? DEVELOPMENT_SECRET, published: (e.JWT_SECRET ?? DEVELOPMENT_SECRET) === DEVELOPMENT_SECRET, ttlSeconds: e.JWT_TTL_SECONDS },
    auth: { cacheTtlMs: e.AUTH_CACHE_TTL_MS, maxFailures: e.LOGIN_MAX_FAILURES, lockoutSeconds: e.LOGIN_LOCKOUT_SECONDS },
    rateLimits: {
      loginPerAddress: e.LOGIN_RATE_PER_MINUTE,
      loginPerAccount: e.LOGIN_ACCOUNT_RATE_PER_MINUTE,
      registerPerAddress: e.REGISTER_RATE_PER_MINUTE,
      redisUrl: e.REDIS_URL,
      redisKeyPrefix: e.REDIS_KEY_PREFIX,
    },
    nats: { url: e.NATS_URL, subjectPrefix: e.NATS_SUBJECT_PREFIX },
    dispatch: {
      intervalMs: e.DISPATCH_INTERVAL_MS,
      offerTimeoutMs: e.OFFER_TIMEOUT_MS,
      alertAfterMs: e.DISPATCH_ALERT_AFTER_MS,
      zoneResolution: e.DISPATCH_ZONE_RESOLUTION,
      speedKmh: e.DISPATCH_SPEED_KMH,
      maxPickupKm: e.DISPATCH_MAX_PICKUP_KM,
      solverThreads: e.DISPATCH_SOLVER_THREADS,
      leaseCheckMs: e.DISPATCH_LEASE_CHECK_MS,
    },
    couriers: {
      staleAfterMs: e.COURIER_STALE_AFTER_MS,
      offShiftAfterMs: e.COURIER_OFF_SHIFT_AFTER_MS,
      maxSpeedKmh: e.COURIER_MAX_SPEED_KMH,
      minFixIntervalMs: e.COURIER_MIN_FIX_INTERVAL_MS,
      flushMs: e.COURIER_POSITION_FLUSH_MS,
    },
    live: {
      heartbeatMs: e.LIVE_HEARTBEAT_MS,
      maxBufferBytes: e.LIVE_MAX_BUFFER_BYTES,
      positionIntervalMs: e.LIVE_POSITION_INTERVAL_MS,
      reconnectMs: e.LIVE_RECONNECT_MS,
      ticketTtlSeconds: e.STREAM_TICKET_TTL_SECONDS,
    },
    exports: { maxConcurrent: e.EXPORT_MAX_CONCURRENT, maxDurationMs: e.EXPORT_MAX_DURATION_MS },
    web: { distDir: e.WEB_DIST_DIR === undefined ? WEB_DIST_DEFAULT : path.resolve(e.WEB_DIST_DIR) },
    demo: {
      ordersPerMinute: e.DEMO_ORDERS_PER_MIN,
      timeScale: e.DEMO_TIME_SCALE,
      maxInFlight: e.DEMO_MAX_IN_FLIGHT,
      maxOrders: e.DEMO_MAX_ORDERS,
      minutes: e.DEMO_MINUTES,
      maxErrorRate: e.DEMO_MAX_ERROR_RATE,
      couriers: e.DEMO_COURIERS,
      customers: e.DEMO_CUSTOMERS,
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, enabled: !e.OTEL_SDK_DISABLED },
    shedding: {
      maxEventLoopDelayMs: e.SHED_MAX_LOOP_DELAY_MS,
      // 0: 90% of V8's heap limit, so a process sheds before it would die of an out-of-memory error.
      maxHeapUsedBytes: e.SHED_MAX_HEAP_BYTES || Math.floor(getHeapStatistics().heap_size_limit * 0.9),
      retryAfterSeconds: e.SHED_RETRY_AFTER_SECONDS,
    },
    admission: {
      maxInFlight: e.ADMISSION_MAX_IN_FLIGHT,
      maxWaitMs: e.ADMISSION_MAX_WAIT_MS,
      maxWaiting: e.ADMISSION_MAX_WAITING,
      refusalsPerSecond: e.ADMISSION_REFUSALS_PER_SECOND,
    },
    blockedLoopThresholdMs: e.BLOCKED_LOOP_THRESHOLD_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    workers: e.WORKERS,
    seedDemo: e.SEED_DEMO && mode !== 'production',
  };
}

export type Config = ReturnType<typeof loadConfig>;
