import Type, { type Static } from 'typebox';

/** cockatiel's CircuitState numbers, as dabba_partner_breaker_state exports them. */
export const BREAKER_STATES = ['closed', 'open', 'half_open', 'isolated'] as const;

const Ms = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });

/**
 * The ops stream's `event: health`: the server's own figures since the previous sample. Pure (no I/O),
 * so the ops dashboard in web/ reads its type from here too.
 */
export const HealthSample = Type.Object({
  at: Type.Integer({ description: 'Unix epoch milliseconds' }),
  requests_per_second: Type.Number(),
  latency_p99_ms: Ms('upper bound of the latency bucket holding the 99th percentile; null when there were no requests'),
  requests_in_flight: Type.Number(),
  event_loop: Type.Object({ delay_p99_ms: Type.Number(), utilization: Type.Number() }),
  db_pool: Type.Union([Type.Object({ total: Type.Integer(), idle: Type.Integer(), waiting: Type.Integer() }), Type.Null()]),
  breakers: Type.Record(Type.String(), Type.Enum([...BREAKER_STATES, 'unknown'])),
  partner_latency_p99_ms: Type.Record(
    Type.String(),
    Ms("each partner's calls (retries included), as latency_p99_ms; null when it had none"),
  ),
  live_connections: Type.Record(Type.String(), Type.Integer()),
});
export type HealthSample = Static<typeof HealthSample>;
