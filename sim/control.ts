import { invalid } from './fields.ts';
import { type PartnerSim, type Reply, type SimRequest, notFound, reply } from './http.ts';
import { type PartnerName, type PartnerState, PARTNERS, applySettingsPatch, isPartnerName } from './partner-state.ts';

export interface ControlDeps {
  state: PartnerState;
  sims: Record<PartnerName, PartnerSim>;
  stats(): { in_flight: number; hanging: number };
  /** Hung requests belong to the old settings; reset ends them so a fresh test starts clean. */
  onReset(): void;
}

/**
 * The /_sim routes. The server calls this directly, never through the partner wrapper, so control
 * requests are never delayed, failed, hung or dropped whatever a partner's settings are.
 */
export function createControl(deps: ControlDeps): (req: SimRequest) => Reply {
  const startedAt = Date.now();
  return (req) => {
    const [first, second, ...rest] = req.segments;
    if (first === 'partners') return partners(deps, req.method, second, rest.length, req.body);
    if (first === 'reset' && second === undefined && req.method === 'POST') {
      deps.state.reset();
      for (const name of PARTNERS) deps.sims[name].reset();
      deps.onReset();
      return reply(200, { reset: true, partners: deps.state.all() });
    }
    if (first === 'health' && second === undefined && req.method === 'GET') {
      return reply(200, { status: 'ok', uptime_s: Math.round((Date.now() - startedAt) / 1000), ...deps.stats() });
    }
    if (first !== undefined && isPartnerName(first)) {
      return deps.sims[first].control({ ...req, segments: req.segments.slice(1) }) ?? notFound();
    }
    return notFound();
  };
}

function partners(deps: ControlDeps, method: string, name: string | undefined, extra: number, body: unknown): Reply {
  if (extra > 0) return notFound();
  if (name === undefined) return method === 'GET' ? reply(200, deps.state.all()) : notFound();
  if (!isPartnerName(name)) return reply(404, { error: `unknown partner '${name}'`, partners: PARTNERS });
  if (method === 'GET') return reply(200, deps.state.get(name));
  if (method !== 'PUT') return notFound();
  const result = applySettingsPatch(deps.state.get(name), body);
  if (!result.ok) return invalid(result.errors);
  deps.state.set(name, result.settings);
  return reply(200, result.settings);
}
