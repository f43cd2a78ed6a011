/** The stated performance targets, evaluated on a run. */
import { type BenchRun, type LevelResult, type Target, compactErrors, fmt, levelKey, pct } from './report-rows.ts';

function select(
  run: BenchRun,
  server: LevelResult['server'],
  scenario: LevelResult['scenario'],
  mode?: LevelResult['mode'],
): LevelResult[] {
  return run.results.filter(
    (r) => r.server === server && r.scenario === scenario && (mode === undefined || r.mode === mode),
  );
}

function maxBy(results: LevelResult[], value: (r: LevelResult) => number | null): LevelResult | undefined {
  let best: LevelResult | undefined;
  for (const r of results) {
    const v = value(r);
    if (v === null || !Number.isFinite(v)) continue;
    const bv = best ? value(best) : null;
    if (best === undefined || bv === null || v > bv) best = r;
  }
  return best;
}

export function errorTotal(r: LevelResult): number {
  return Object.values(r.errors ?? {}).reduce((sum, n) => sum + (Number.isFinite(n) ? n : 0), 0);
}

function withErrors(r: LevelResult, text: string): string {
  const total = errorTotal(r);
  return total > 0 ? `${text}; errors ${compactErrors(r.errors)}` : text;
}

function missing(name: string, target: string, why: string): Target {
  return { name, target, measured: why, met: null };
}

/** Peak throughput target: max closed-loop rps of dabba ≥ factor × baseline's. */
function peakTarget(run: BenchRun, scenario: 'feed' | 'order', factor: number): Target {
  const name = `${scenario} peak throughput`;
  const target = `≥ ${factor} × baseline peak`;
  const d = maxBy(select(run, 'dabba', scenario, 'closed'), (r) => r.rps);
  const b = maxBy(select(run, 'baseline', scenario, 'closed'), (r) => r.rps);
  if (!d) return missing(name, target, `no closed-loop ${scenario} run`);
  if (!b || !(b.rps > 0)) return missing(name, target, `no baseline ${scenario} run`);
  return {
    name,
    target,
    measured: withErrors(
      d,
      `${fmt(d.rps)} rps (${d.connections} conns) vs baseline ${fmt(b.rps)} rps (${b.connections} conns): ${fmt(d.rps / b.rps)}×`,
    ),
    met: d.rps >= factor * b.rps,
  };
}

/** Evaluates the stated targets; met is null where the run lacks the data. */
export function targets(run: BenchRun): Target[] {
  const out: Target[] = [];

  out.push(peakTarget(run, 'feed', 0.8));

  {
    const name = 'feed p99 at 80% of baseline peak rate';
    const target = '≤ 1.5 × baseline p99 at the same offered rate';
    const d = maxBy(select(run, 'dabba', 'feed', 'open'), (r) => r.offered_rps);
    const b = d && run.results.find((r) => r.server === 'baseline' && levelKey(r) === levelKey(d));
    if (!d) out.push(missing(name, target, 'no open-loop feed run'));
    else if (!b || !(b.p99_ms > 0)) out.push(missing(name, target, `no baseline run at ${fmt(d.offered_rps)} rps`));
    else
      out.push({
        name,
        target,
        measured: withErrors(
          d,
          `p99 ${fmt(d.p99_ms)} ms vs baseline ${fmt(b.p99_ms)} ms at ${fmt(d.offered_rps)} rps offered: ${fmt(d.p99_ms / b.p99_ms)}×`,
        ),
        met: d.p99_ms <= 1.5 * b.p99_ms,
      });
  }

  out.push(peakTarget(run, 'order', 0.6));

  {
    const name = 'API memory at the highest feed concurrency';
    const target = 'RSS ≤ baseline RSS at that level';
    const dabba = select(run, 'dabba', 'feed', 'closed');
    const baseline = select(run, 'baseline', 'feed', 'closed');
    const common = dabba.filter((d) => baseline.some((b) => b.connections === d.connections));
    const d = maxBy(common, (r) => r.connections);
    const b = d && baseline.find((r) => r.connections === d.connections);
    if (!dabba.length) out.push(missing(name, target, 'no closed-loop feed run'));
    else if (!d || !b) out.push(missing(name, target, 'no baseline feed run at the same concurrency'));
    else
      out.push({
        name,
        target,
        measured: `${fmt(d.rss_mb)} MB vs baseline ${fmt(b.rss_mb)} MB at ${d.connections} conns`,
        met: d.rss_mb <= b.rss_mb,
      });
  }

  const shed = maxBy(select(run, 'dabba', 'shed'), (r) => r.offered_rps ?? r.connections);
  {
    const name = 'shed goodput';
    const target = '≥ 0.9 × dabba feed peak';
    const peak = maxBy(select(run, 'dabba', 'feed', 'closed'), (r) => r.rps);
    if (!shed) out.push(missing(name, target, 'no shed run'));
    else if (!peak || !(peak.rps > 0)) out.push(missing(name, target, 'no closed-loop feed run'));
    else {
      const share = shed.shed_share === undefined ? '' : `, ${pct(shed.shed_share)} shed`;
      out.push({
        name,
        target,
        measured: `${fmt(shed.rps)} rps vs feed peak ${fmt(peak.rps)} rps: ${fmt(shed.rps / peak.rps)}×${share}`,
        met: shed.rps >= 0.9 * peak.rps,
      });
    }
  }

  {
    const name = 'shed accepted p99';
    const target = '≤ 2 × unloaded feed p99';
    const closedFeed = select(run, 'dabba', 'feed', 'closed').filter((r) => Number.isFinite(r.p99_ms));
    const unloaded = maxBy(closedFeed, (r) => -r.connections);
    if (!shed) out.push(missing(name, target, 'no shed run'));
    else if (!unloaded || !(unloaded.p99_ms > 0)) out.push(missing(name, target, 'no closed-loop feed run'));
    else
      out.push({
        name,
        target,
        measured: `p99 ${fmt(shed.p99_ms)} ms vs unloaded ${fmt(unloaded.p99_ms)} ms (${unloaded.connections} conns): ${fmt(shed.p99_ms / unloaded.p99_ms)}×`,
        met: shed.p99_ms <= 2 * unloaded.p99_ms,
      });
  }

  return out;
}
