import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';

const Port = (fallback: number) => Type.Integer({ minimum: 0, maximum: 65535, default: fallback });
const Url = Type.String({ pattern: '^https?://[^\\s]+$' });

const Ms = (minimum: number, maximum: number, fallback: number) => Type.Integer({ minimum, maximum, default: fallback });
const Count = (minimum: number, maximum: number, fallback: number) => Type.Integer({ minimum, maximum, default: fallback });

/** Where the API listens, how many processes serve, how they stop. */
const Server = {
  NODE_ENV: Type.Enum(['development', 'test', 'production'], { default: 'development' }),
  PORT: Port(3000),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  WORKERS: Count(1, 256, 1),
  SHUTDOWN_TIMEOUT_MS: Ms(100, 600_000, 10_000),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
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
  BLOCKED_LOOP_THRESHOLD_MS: Ms(0, 60_000, 100),
};

/** Tracing export. */
const Tracing = {
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Url),
  OTEL_SDK_DISABLED: Type.Boolean({ default: false }),
};

/** Every variable dabba reads, grouped by concern, with its default: the one place the environment is described. */
export const EnvSchema = Type.Object({ ...Server, ...Database, ...Auth, ...Partners, ...Orders, ...Overload, ...Tracing });
export type Env = Static<typeof EnvSchema>;

/** Used only outside production, where a missing secret must not stop a first `npm start`. */
const DEVELOPMENT_SECRET = 'dabba-development-secret-not-for-production-use';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Schema messages such as "must match pattern ^https?://…" are rewritten to say what is expected. */
function expectation(variable: string, message: string): string {
  const schema = (EnvSchema.properties as Record<string, { enum?: string[]; pattern?: string }>)[variable];
  if (schema?.enum) return `must be one of ${schema.enum.join(', ')}`;
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
export function loadConfig(source: NodeJS.ProcessEnv = process.env) {
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
  if (e.NODE_ENV === 'production' && e.JWT_SECRET === undefined) {
    throw new ConfigError(
      describe('JWT_SECRET', undefined, 'must be set (32+ characters) when NODE_ENV=production'),
    );
  }
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
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
    jwt: { secret: e.JWT_SECRET ?? DEVELOPMENT_SECRET, ttlSeconds: e.JWT_TTL_SECONDS },
    logLevel: e.LOG_LEVEL,
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, enabled: !e.OTEL_SDK_DISABLED },
    shedding: {
      maxEventLoopDelayMs: e.SHED_MAX_LOOP_DELAY_MS,
      // 0: 90% of V8's heap limit, so a process sheds before it would die of an out-of-memory error.
      maxHeapUsedBytes: e.SHED_MAX_HEAP_BYTES || Math.floor(getHeapStatistics().heap_size_limit * 0.9),
      retryAfterSeconds: e.SHED_RETRY_AFTER_SECONDS,
    },
    admission: { maxInFlight: e.ADMISSION_MAX_IN_FLIGHT, maxWaitMs: e.ADMISSION_MAX_WAIT_MS, maxWaiting: e.ADMISSION_MAX_WAITING },
    blockedLoopThresholdMs: e.BLOCKED_LOOP_THRESHOLD_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    workers: e.WORKERS,
    seedDemo: e.SEED_DEMO && e.NODE_ENV !== 'production',
  };
}

export type Config = ReturnType<typeof loadConfig>;
