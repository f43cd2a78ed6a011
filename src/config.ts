import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';

const Port = (fallback: number) => Type.Integer({ minimum: 0, maximum: 65535, default: fallback });
const Url = Type.String({ pattern: '^https?://[^\\s]+$' });

/** Every variable dabba reads, with its default: the one place the environment is described. */
export const EnvSchema = Type.Object({
  NODE_ENV: Type.Enum(['development', 'test', 'production'], { default: 'development' }),
  PORT: Port(3000),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://[^\\s]+$' })),
  DATABASE_POOL_MAX: Type.Integer({ minimum: 1, maximum: 500, default: 20 }),
  DATABASE_POOL_WAIT_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 5_000 }),
  // 0 = off: a proxy that pools by transaction (PgBouncer's transaction mode) cannot keep statements prepared.
  DATABASE_STATEMENT_CACHE: Type.Integer({ minimum: 0, maximum: 10_000, default: 256 }),
  EMBEDDED_PG_PORT: Port(54329),
  DABBA_DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  NATS_URL: Type.Optional(Type.String({ pattern: '^nats://[^\\s]+$' })),
  PAYMENTS_URL: Type.Optional(Url),
  POS_URL: Type.Optional(Url),
  ETA_URL: Type.Optional(Url),
  NOTIFY_URL: Type.Optional(Url),
  CATALOG_URL: Type.Optional(Url),
  SIM_PORT: Port(3100),
  PARTNER_MAX_IN_FLIGHT: Type.Integer({ minimum: 1, maximum: 100_000, default: 512 }),
  PARTNER_MAX_QUEUE: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 2048 }),
  PARTNER_CONNECTIONS: Type.Integer({ minimum: 1, maximum: 10_000, default: 128 }),
  PARTNER_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
  PARTNER_BREAKER_THRESHOLD: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
  PARTNER_BREAKER_HALF_OPEN_MS: Type.Integer({ minimum: 10, maximum: 600_000, default: 5_000 }),
  ORDER_FLOW_DEADLINE_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 3_000 }),
  TABLET_ACCEPT_TIMEOUT_MS: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 300_000 }),
  PLACED_STUCK_AFTER_MS: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 60_000 }),
  SWEEP_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  JOB_POLL_INTERVAL_MS: Type.Integer({ minimum: 500, maximum: 60_000, default: 1_000 }),
  FEED_DEADLINE_MS: Type.Integer({ minimum: 50, maximum: 10_000, default: 800 }),
  FEED_RESTAURANTS: Type.Integer({ minimum: 1, maximum: 50, default: 10 }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  JWT_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 2_592_000, default: 86_400 }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(Url),
  OTEL_SDK_DISABLED: Type.Boolean({ default: false }),
  SHED_MAX_LOOP_DELAY_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 100 }),
  // 0 = off. A loop that is 99% busy can still answer promptly; shedding on utilisation halved order
  // goodput in the benchmark (bench/README.md), while the delay limit catches real queueing.
  SHED_MAX_LOOP_UTILIZATION: Type.Number({ minimum: 0, maximum: 1, default: 0 }),
  SHED_MAX_HEAP_BYTES: Type.Integer({ minimum: 0, default: 0 }),
  // 0 = off. As an all-or-nothing gate it protects accepted latency at a fixed offered rate but lets
  // closed-loop clients that ignore Retry-After collapse goodput (bench/README.md, findings).
  SHED_MAX_DB_WAITING: Type.Integer({ minimum: 0, maximum: 100_000, default: 0 }),
  SHED_RETRY_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 2 }),
  // 0 = off (the feed's limit included). In-flight requests per /v1 route past which new ones wait, then get 503.
  ADMISSION_MAX_IN_FLIGHT: Type.Integer({ minimum: 0, maximum: 100_000, default: 256 }),
  // 0 = ADMISSION_MAX_IN_FLIGHT. Lower because each feed holds 2×FEED_RESTAURANTS partner calls at once:
  // with PARTNER_CONNECTIONS (128) sockets per partner only about a dozen feeds fit before partner calls
  // queue, so past a few dozen feeds in flight another admission only adds latency to all of them
  // (32 against 64 in bench/README.md: the same goodput, lower latency under overload).
  FEED_MAX_IN_FLIGHT: Type.Integer({ minimum: 0, maximum: 100_000, default: 32 }),
  // 0 = refuse at once. How long a request past its route's limit may wait for a slot (newest first).
  ADMISSION_MAX_WAIT_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 1_000 }),
  ADMISSION_MAX_WAITING: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 8_192 }),
  BLOCKED_LOOP_THRESHOLD_MS: Type.Integer({ minimum: 0, maximum: 60_000, default: 100 }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
  WORKERS: Type.Integer({ minimum: 1, maximum: 256, default: 1 }),
  SEED_DEMO: Type.Boolean({ default: true }),
});
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
  if (schema?.pattern) return `must be a ${schema.pattern.slice(1).split(':')[0]?.replace('(ql)?', '').replace('s?', '(s)')}:// URL`;
  return message;
}

function describe(variable: string, raw: unknown, message: string): string {
  const shown = raw === undefined ? 'it is not set' : `got ${JSON.stringify(raw)}`;
  return `Invalid configuration: ${variable} ${message} (${shown})`;
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
    natsUrl: e.NATS_URL,
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
      maxEventLoopUtilization: e.SHED_MAX_LOOP_UTILIZATION,
      // 0: 90% of V8's heap limit, so a process sheds before it would die of an out-of-memory error.
      maxHeapUsedBytes: e.SHED_MAX_HEAP_BYTES || Math.floor(getHeapStatistics().heap_size_limit * 0.9),
      maxDbWaiting: e.SHED_MAX_DB_WAITING,
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
