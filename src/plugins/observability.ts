import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { LoopMonitor } from '../ops/loop-monitor.ts';
import './live-route.ts';
import { SpanKind, SpanStatusCode, context, propagation, trace, tracer } from '../ops/tracing.ts';

const routeOf = (req: FastifyRequest) => req.routeOptions.url ?? 'unmatched';

/**
 * Everything an operator sees of an admitted request, kept in one place: its span (child of the
 * caller's `traceparent`), the latency histogram and in-flight gauge, one log line when it ends, and
 * the loop monitor's label. Handlers do none of this themselves. Registered after the plugins that
 * refuse requests (shedding, rate limits, admission): a refusal costs one counter (`dabba_http_shed_total`,
 * `dabba_http_rate_limited_total`) and no span, histogram or log line, so refusing a flood of retries
 * stays cheaper than serving. The span and the latency still start when the request arrived, so a
 * wait for an admission slot is part of them. Owns the blocked-loop monitor (`app.monitor`).
 */
async function observability(app: FastifyInstance, opts: { blockedLoopThresholdMs: number }) {
  const { metrics } = app;
  const monitor = new LoopMonitor({
    thresholdMs: opts.blockedLoopThresholdMs,
    report: (block) => {
      metrics.loopBlocks.inc();
      app.log.warn(block, `event loop blocked for ${block.blocked_ms} ms`);
    },
  });
  app.decorate('monitor', monitor);
  // Started once serving: start-up itself (module loading, schema compilation) blocks the loop by design.
  app.addHook('onListen', async () => monitor.start());
  app.addHook('onClose', async () => monitor.close());

  app.addHook('onRoute', (route: RouteOptions) => {
    const label = `${[route.method].flat().join(',')} ${route.url}`;
    const handler = route.handler;
    route.handler = function timedHandler(this: unknown, req, reply) {
      return monitor.timed(label, () => handler.call(this as FastifyInstance, req, reply));
    };
  });

  app.addHook('onRequest', (req, reply, done) => {
    const route = routeOf(req);
    const live = req.routeOptions.config?.live === true;
    monitor.enter(`${req.method} ${route}`);
    if (!live) metrics.httpInFlight.inc();
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(
      `${req.method} ${route}`,
      { kind: SpanKind.SERVER, startTime: performance.timeOrigin + performance.now() - reply.elapsedTime, attributes: { 'http.request.method': req.method, 'http.route': route, 'url.path': req.url.split('?')[0]! } },
      parent,
    );
    // 'close' fires exactly once: when the response is sent, or when the client goes away first.
    // writableEnded (the whole response was handed over), not writableFinished: app.inject's response
    // never reports itself flushed, which made every injected request look aborted (499).
    reply.raw.once('close', () => {
      const finished = reply.raw.writableEnded;
      // A stream or socket that the client ends is a normal end, not an aborted request.
      const status = live ? (req.headers.upgrade ? 101 : reply.raw.statusCode) : finished ? reply.statusCode : 499;
      const seconds = reply.elapsedTime / 1000;
      if (!live) {
        metrics.httpInFlight.dec();
        metrics.httpSeconds.observe({ method: req.method, route, status_code: String(status) }, seconds);
      }
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      // With tracing off the span is a no-op whose trace id is all zeros: no id then, as in currentTraceIds.
      const spanContext = span.spanContext();
      const traceId = trace.isSpanContextValid(spanContext) ? { trace_id: spanContext.traceId } : {};
      req.log.info(
        { method: req.method, route, status, duration_ms: Math.round(seconds * 10_000) / 10, ...traceId, ...(live ? { live: true } : finished ? {} : { aborted: true }) },
        'request',
      );
    });
    context.with(trace.setSpan(parent, span), done);
  });
}

export default fp(observability, { name: 'observability', dependencies: ['metrics'] });
