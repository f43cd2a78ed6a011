import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { CatalogSim } from './catalog.sim.ts';
import { createControl } from './control.ts';
import { EtaSim } from './eta.sim.ts';
import { type PartnerSim, type Reply, type SimRequest, parseUrl, readJsonBody, sendJson } from './http.ts';
import { sampleLatencyMs } from './latency.ts';
import { NotifySim } from './notify.sim.ts';
import { type PartnerName, PartnerState, isPartnerName } from './partner-state.ts';
import { PaymentsSim } from './payments.sim.ts';
import { PosSim } from './pos.sim.ts';

export interface SimServerOptions {
  port: number;
  host?: string;
}

export interface SimServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_TIMER_MS = 2_147_483_647;
const INJECTED_BEFORE = { error: 'simulated partner failure', injected: 'before_processing' };
const INJECTED_AFTER = { error: 'simulated gateway timeout', injected: 'after_processing' };

/** A bug in one handler must answer 500 rather than take down every partner's process. */
function run(target: Pick<PartnerSim, 'handle'>, req: SimRequest): Reply {
  try {
    return target.handle(req);
  } catch (error) {
    console.error('sim handler failed', error);
    return { status: 500, body: { error: 'simulator bug', message: String(error) } };
  }
}

/**
 * Half the injected failures happen after the operation took effect (recorded, then 503), like a
 * gateway that charged and then timed out: only a retry with the same idempotency key is safe then.
 */
function respond(res: ServerResponse, sim: PartnerSim, req: SimRequest, errorRate: number): void {
  if (res.destroyed) return;
  if (errorRate > 0 && Math.random() < errorRate) {
    const after = Math.random() < 0.5;
    if (after) run(sim, req);
    sendJson(res, after ? 503 : 500, after ? INJECTED_AFTER : INJECTED_BEFORE);
    return;
  }
  const result = run(sim, req);
  sendJson(res, result.status, result.body);
}

export async function startSimServer(opts: SimServerOptions): Promise<SimServer> {
  const host = opts.host ?? '127.0.0.1';
  const state = new PartnerState();
  const sims: Record<PartnerName, PartnerSim> = {
    payments: new PaymentsSim(),
    pos: new PosSim(),
    eta: new EtaSim(),
    notify: new NotifySim(),
    catalog: new CatalogSim(),
  };
  const hanging = new Set<ServerResponse>();
  let inFlight = 0;
  const endHanging = () => {
    for (const res of hanging) res.destroy();
    hanging.clear();
  };
  const control = {
    handle: createControl({
      state,
      sims,
      stats: () => ({ in_flight: inFlight, hanging: hanging.size }),
      onReset: endHanging,
    }),
  };

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    partner: PartnerName | undefined,
    url: { segments: string[]; query: string },
  ) {
    const body = await readJsonBody(req);
    if (!body.ok) {
      if (body.status !== 0) sendJson(res, body.status, { error: body.error }, body.status === 413);
      return;
    }
    const simReq: SimRequest = {
      method: req.method ?? 'GET',
      segments: url.segments.slice(1),
      query: url.query,
      body: body.body,
    };
    if (partner === undefined) {
      const result = run(control, simReq);
      return sendJson(res, result.status, result.body);
    }
    const settings = state.get(partner);
    const delay = Math.min(MAX_TIMER_MS, sampleLatencyMs(settings.median_ms, settings.p99_ms));
    if (delay < 1) return respond(res, sims[partner], simReq, settings.error_rate);
    const timer = setTimeout(respond, delay, res, sims[partner], simReq, settings.error_rate);
    // A client that gave up must not have its operation applied later behind its back.
    res.once('close', () => clearTimeout(timer));
  }

  const server = createServer((req, res) => {
    const url = parseUrl(req.url ?? '/');
    if (url === undefined) return sendJson(res, 400, { error: 'malformed URL path' });
    const prefix = url.segments[0];
    if (prefix === '_sim') return void serve(req, res, undefined, url);
    if (prefix === undefined || !isPartnerName(prefix)) return sendJson(res, 404, { error: 'not found' });
    const mode = state.get(prefix).mode;
    // One port cannot refuse connections per path, so "down" is the closest thing: a reset with no answer.
    if (mode === 'down') return void req.socket.destroy();
    if (mode === 'hang') {
      hanging.add(res);
      res.once('close', () => hanging.delete(res));
      return;
    }
    inFlight++;
    res.once('close', () => inFlight--);
    void serve(req, res, prefix, url);
  });
  // Longer than typical client idle timeouts (undici: 4s, most LBs: 60s) so the client closes first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.maxRequestsPerSocket = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: opts.port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        endHanging();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
