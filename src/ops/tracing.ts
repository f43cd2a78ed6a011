import { ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { failureKind } from '../partners/partner-errors.ts';

export const tracer = trace.getTracer('dabba');

let provider: NodeTracerProvider | undefined;

/**
 * Registers the process-wide tracer provider once: trace ids (in logs, and in `traceparent` to the
 * partners) exist whenever tracing is on. Spans are recorded only when an OTLP endpoint is
 * configured; without one nothing would ever read them, so none is sampled and each span is just its
 * ids. `OTEL_SDK_DISABLED=true` turns tracing off entirely (every span becomes a no-op).
 * @see https://opentelemetry.io/docs/languages/js/instrumentation/
 * @see https://opentelemetry.io/docs/concepts/sampling/
 */
export async function setupTracing(opts: { endpoint?: string; enabled: boolean }) {
  if (provider || !opts.enabled) return;
  // The exporter (with its HTTP and protobuf machinery) is loaded only when there is somewhere to export to.
  const { OTLPTraceExporter } = opts.endpoint ? await import('@opentelemetry/exporter-trace-otlp-http') : { OTLPTraceExporter: undefined };
  if (provider) return;
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'dabba' }),
    ...(opts.endpoint && OTLPTraceExporter
      ? { spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/$/, '')}/v1/traces` }))] }
      : { sampler: new AlwaysOffSampler() }),
  });
  provider.register();
}

export async function shutdownTracing() {
  await provider?.shutdown();
  provider = undefined;
}

/** Ids for the log line being written, when it belongs to a traced piece of work. */
export function currentTraceIds(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return traceFlags === undefined || traceId === '00000000000000000000000000000000' ? {} : { trace_id: traceId, span_id: spanId };
}

/** Runs `fn` in a child span of whatever is active; the span records failure and always ends. */
export function inSpan<T>(name: string, attributes: Record<string, string | number>, fn: (span: Span) => Promise<T>) {
  return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      // Name and message only: formatting a stack for every failed partner call is measurable under load.
      span.setAttribute('error.type', failureKind(err, (err as Error).name));
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A finished query reported after the fact (Kysely's log hook) becomes a span with its real start time. */
export function recordQuerySpan(sql: string, durationMs: number, failed: boolean) {
  if (!trace.getActiveSpan()) return;
  const end = Date.now();
  const span = tracer.startSpan(
    'db.query',
    { kind: SpanKind.CLIENT, startTime: end - durationMs, attributes: { 'db.system.name': 'postgresql', 'db.query.text': sql.slice(0, 2000) } },
    context.active(),
  );
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end(end);
}

/** W3C trace context headers for an outgoing call, so a partner's spans join the same trace. */
export function traceHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/** Runs `fn` outside any request's trace: work a request only set off (a batch serving many) is not part of it. */
export function detached<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

export { SpanKind, SpanStatusCode, context, propagation, trace };
