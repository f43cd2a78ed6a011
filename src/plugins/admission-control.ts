import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { Gate, Slot } from './admission-gate.ts';
import { overloaded } from './overloaded.ts';
import { type PendingRefusal, RefusalBudget } from './refusal-budget.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Admitted requests this route may have in flight (ADMISSION_MAX_IN_FLIGHT when unset); 0 exempts the route. */
    maxInFlight?: number;
  }
}

const PUMP_MS = 50;

const isApi = (url: string) => url === '/v1' || url.startsWith('/v1/');

/** Whether the request comes with a body to read (Node's and Fastify's test: a length other than 0, or chunked). */
function declaresBody(req: FastifyRequest) {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Per-route admission control: a `/v1` route admits at most its limit of requests at once. A request
 * without a body is admitted or refused in `onRequest`, before any other work; one with a body only once
 * the body is in (`preValidation`), so a client sending its body slowly holds a connection (until the
 * request timeouts of server.ts cut it) but never a slot: trickling bytes cannot lock a route. The excess
 * waits up to ADMISSION_MAX_WAIT_MS for a slot, newest first (see Gate), and is refused with 503 and
 * `Retry-After` when the wait runs out or is full. While the event loop is past its shedding limit,
 * no gate admits anyone and new requests wait the same way (load-shedding.ts). Refusals at the end of
 * a wait are paced by ADMISSION_REFUSALS_PER_SECOND (RefusalBudget): past it a request keeps waiting,
 * so clients that retry at once cannot make refusing most of the work. Registered before
 * observability: a refusal costs a counter, not a span, a histogram sample and a log line.
 * Unlike load shedding it refuses only the excess of the route that is over, so the database pool and
 * the partner bulkhead queues stay short and accepted requests keep their latency; the short wait
 * absorbs bursts, and keeps clients that retry at once from turning refusals into most of the work.
 * Probes, /metrics and the docs are not under /v1 and never limited.
 */
async function admissionControl(app: FastifyInstance, opts: { config: Config }) {
  const { config } = opts;
  const { metrics } = app;
  const { maxInFlight: defaultLimit, maxWaitMs, maxWaiting, refusalsPerSecond } = config.admission;
  if (defaultLimit === 0) return;
  const retryAfterSeconds = config.shedding.retryAfterSeconds;
  const gates = new Map<string, Gate>();
  const slots = new WeakMap<FastifyRequest, Slot>();
  const budget = new RefusalBudget(refusalsPerSecond);
  const underPressure = () => app.isUnderPressure();
  metrics.sources.admission = () => [...gates.values()].map((g) => ({ route: g.route, inFlight: g.inFlight, waiting: g.waiting }));
  // A pause (under pressure) ends without a release to hand its slots on: look for free slots and waiters.
  const pump = setInterval(() => {
    for (const gate of gates.values()) gate.pump();
  }, PUMP_MS);
  pump.unref();
  app.addHook('onClose', async () => {
    clearInterval(pump);
    budget.close();
  });

  app.addHook('onRoute', (route: RouteOptions) => {
    if (!isApi(route.url)) return;
    const limit = route.config?.maxInFlight ?? defaultLimit;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new Error(`${route.url}: config.maxInFlight must be a whole number of at least 0, got ${limit}`);
    }
    if (limit === 0) return;
    route.config = { ...route.config, admitted: true };
    for (const method of [route.method].flat()) {
      const key = `${method} ${route.url}`;
      gates.set(key, new Gate(key, limit, maxWaitMs > 0 ? maxWaiting : 0, underPressure));
    }
    const handler = route.handler;
    route.handler = function admittedHandler(this: unknown, req, reply) {
      const slot = slots.get(req);
      const call = () => handler.call(this as FastifyInstance, req, reply);
      return slot ? slot.run(call) : call();
    };
  });

  const refuse = (req: FastifyRequest, reply: FastifyReply, gate: Gate) => {
    const pressure = app.pressure();
    metrics.httpShed.inc({ reason: pressure?.reason ?? 'concurrency' });
    const reason = pressure?.detail ?? `${gate.route} has ${gate.inFlight} request${gate.inFlight === 1 ? '' : 's'} in flight`;
    void reply.send(overloaded(req, reply, reason, retryAfterSeconds));
  };

  const admission = (req: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const gate = gates.get(`${req.method} ${req.routeOptions.url}`);
    if (!gate) return done();
    const admit = () => {
      const slot = new Slot(gate);
      slots.set(req, slot);
      // An earlier async hook, or the wait, could have let the client go already; 'close' fires only once.
      if (reply.raw.closed) slot.closed();
      else reply.raw.once('close', () => slot.closed());
      done();
    };
    if (gate.hasRoom()) return admit();
    let timer: NodeJS.Timeout | undefined;
    let refusal: PendingRefusal | undefined;
    const gone = () => {
      clearTimeout(timer);
      refusal?.cancel();
      ticket?.cancel();
    };
    const ticket = gate.wait(() => {
      clearTimeout(timer);
      refusal?.cancel();
      reply.raw.off('close', gone);
      admit();
    });
    if (!ticket) return refuse(req, reply, gate);
    // Between three quarters of the wait and all of it, at random: waits that began in one burst end
    // spread out, not in a burst of refusals (and of retries) of their own.
    timer = setTimeout(() => {
      refusal = budget.refuse(() => {
        ticket.cancel();
        reply.raw.off('close', gone);
        // Room again (a pressure that paused the gate is over): the wait ends in a slot after all.
        if (gate.hasRoom()) admit();
        else refuse(req, reply, gate);
      });
    }, maxWaitMs * (0.75 + Math.random() / 4));
    reply.raw.once('close', gone);
  };
  app.addHook('onRequest', (req, reply, done) => (declaresBody(req) ? done() : admission(req, reply, done)));
  app.addHook('preValidation', (req, reply, done) => (declaresBody(req) ? admission(req, reply, done) : done()));
}

export default fp(admissionControl, { name: 'admission-control', dependencies: ['metrics', 'load-shedding'] });
