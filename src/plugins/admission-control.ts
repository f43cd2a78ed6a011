import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import type { Metrics } from '../ops/metrics.ts';
import { overloaded } from './overloaded.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Admitted requests this route may have in flight (ADMISSION_MAX_IN_FLIGHT when unset); 0 exempts the route. */
    maxInFlight?: number;
  }
}

/** One route's limit and how many admitted requests it has now. */
export interface Gate {
  route: string;
  limit: number;
  inFlight: number;
}

/**
 * One admitted request's hold on its route's count. The count measures work, not sockets, so the
 * hold is given back only when the response has closed and no handler of the request is running:
 * a checkout that outlives its hung-up client keeps its slot until it settles, and a request that
 * never reaches its handler (bad input, no token) gives it back when its answer is sent. `#held`
 * makes every give-back match exactly one take, so the count can neither leak nor go negative.
 */
export class Slot {
  readonly #gate: Gate;
  #held = true;
  #running = false;
  #closed = false;

  constructor(gate: Gate) {
    this.#gate = gate;
    gate.inFlight++;
  }

  closed() {
    this.#closed = true;
    this.#release();
  }

  run<T>(handler: () => T): T {
    // The client can leave while an async hook runs; the handler still starts then, and is still work.
    if (!this.#held) {
      this.#held = true;
      this.#gate.inFlight++;
    }
    this.#running = true;
    const settled = () => {
      this.#running = false;
      this.#release();
    };
    let result: T;
    try {
      result = handler();
    } catch (err) {
      settled();
      throw err;
    }
    if (result instanceof Promise) return result.finally(settled) as T;
    settled();
    return result;
  }

  #release() {
    if (!this.#held || this.#running || !this.#closed) return;
    this.#held = false;
    this.#gate.inFlight--;
  }
}

const isApi = (url: string) => url === '/v1' || url.startsWith('/v1/');

/**
 * Per-route admission control: a request to a `/v1` route that already has its limit of admitted
 * requests in flight is refused at once, in `onRequest` before its body is read, with 503 and
 * `Retry-After`. Unlike load shedding it refuses only the excess of the route that is over, so the
 * database pool and partner bulkhead queues stay short and accepted requests keep their latency.
 * A counter per route and no queue: waiting here would rebuild the queue this exists to keep short.
 * Probes, /metrics and the docs are not under /v1 and never limited.
 */
async function admissionControl(app: FastifyInstance, opts: { config: Config; metrics: Metrics }) {
  const { config, metrics } = opts;
  const defaultLimit = config.admission.maxInFlight;
  if (defaultLimit === 0) return;
  const retryAfterSeconds = config.shedding.retryAfterSeconds;
  const gates = new Map<string, Gate>();
  const slots = new WeakMap<FastifyRequest, Slot>();
  metrics.sources.admission = () => [...gates.values()].map((g) => ({ route: g.route, inFlight: g.inFlight }));

  app.addHook('onRoute', (route: RouteOptions) => {
    if (!isApi(route.url)) return;
    const limit = route.config?.maxInFlight ?? defaultLimit;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new Error(`${route.url}: config.maxInFlight must be a whole number of at least 0, got ${limit}`);
    }
    if (limit === 0) return;
    for (const method of [route.method].flat()) {
      const key = `${method} ${route.url}`;
      gates.set(key, { route: key, limit, inFlight: 0 });
    }
    const handler = route.handler;
    route.handler = function admittedHandler(this: unknown, req, reply) {
      const slot = slots.get(req);
      const call = () => handler.call(this as FastifyInstance, req, reply);
      return slot ? slot.run(call) : call();
    };
  });

  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done) => {
    const gate = gates.get(`${req.method} ${req.routeOptions.url}`);
    if (!gate) return done();
    if (gate.inFlight >= gate.limit) {
      metrics.httpShed.inc({ reason: 'concurrency' });
      const reason = `${gate.route} has ${gate.inFlight} request${gate.inFlight === 1 ? '' : 's'} in flight`;
      void reply.send(overloaded(req, reply, reason, retryAfterSeconds));
      return;
    }
    const slot = new Slot(gate);
    slots.set(req, slot);
    // An earlier async hook could have let the client go already, and 'close' fires only once.
    if (reply.raw.closed) slot.closed();
    else reply.raw.once('close', () => slot.closed());
    done();
  });
}

export default fp(admissionControl, { name: 'admission-control' });
