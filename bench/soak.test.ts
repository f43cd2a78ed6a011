/** The soak's arithmetic without a soak: `npx node --test bench/soak.test.ts`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderSoakSvg } from './soak-chart.ts';
import { type SoakSample, parseMetrics } from './soak-sample.ts';
import { formatVerdict, judge } from './soak-verdict.ts';

/** A healthy 30-minute soak, sample every 10 s, with small wobbles; `over` bends one metric. */
function run(over: (t: number) => Partial<SoakSample> = () => ({})): SoakSample[] {
  return Array.from({ length: 180 }, (_, i) => {
    const t = (i + 1) * 10;
    const wobble = i % 2 ? 3 : -3;
    return {
      t_s: t,
      rss_mb: 320 + wobble,
      heap_used_mb: 100 + wobble * 5,
      heap_total_mb: 210,
      loop_p99_ms: 20 + wobble,
      loop_max_ms: 40,
      pool_total: 10,
      pool_idle: 9,
      pool_waiting: i % 7 === 0 ? 1 : 0,
      jobs_queued: { notify: 3 },
      jobs_queued_total: 3 + wobble,
      jobs_oldest_s: 0.2,
      open_connections: 100,
      in_flight: 12,
      admission_waiting: 0,
      open_fds: 300,
      load: { sent: 500, ok: 499, ok_by_kind: { feed: 400, order: 49, read: 50 }, refused: 1, errors: {}, timeouts: 0, p50_ms: 260, p99_ms: 700, max_ms: 900, outstanding: 15 },
      ...over(t),
    };
  });
}

const failing = (samples: SoakSample[]) =>
  judge(samples, 1800)
    .metrics.filter((m) => m.ok === false)
    .map((m) => m.metric);

describe('soak verdict', () => {
  it('calls a steady run flat, comparing the first and last five minutes', () => {
    const v = judge(run(), 1800);
    assert.equal(v.edge_window_s, 300);
    assert.deepEqual(failing(run()), []);
    assert.equal(v.flat, true);
    assert.match(formatVerdict(v), /verdict: flat/);
  });

  it('catches memory that creeps past 10% and 25 MB', () => {
    assert.deepEqual(failing(run((t) => ({ rss_mb: 320 + t / 30 }))), ['RSS']);
    // 20 MB over the run is within 25 MB: a heap that settles is not a leak.
    assert.deepEqual(failing(run((t) => ({ heap_used_mb: 100 + t / 90 }))), []);
  });

  it('catches a queue that builds, even one that starts late', () => {
    assert.deepEqual(failing(run((t) => ({ jobs_queued_total: t > 1500 ? (t - 1500) / 2 : 3 }))), ['jobs queued']);
    assert.deepEqual(failing(run((t) => ({ pool_waiting: Math.floor(t / 300) }))), ['pool waiting']);
  });

  it('fails a run whose loop is late or whose requests fail', () => {
    assert.deepEqual(failing(run((t) => ({ loop_p99_ms: t > 1200 ? 80 : 20 }))), ['loop delay p99']);
    const failed = run(() => ({ load: { ...run()[0]!.load, ok: 400, errors: { '503': 100 } } }));
    assert.deepEqual(failing(failed), ['errors']);
  });

  it('fails a run with no data rather than calling it flat', () => {
    assert.equal(judge(run(() => ({ rss_mb: null })), 1800).flat, false);
  });
});

describe('soak samples and chart', () => {
  it('reads labelled Prometheus series', () => {
    const m = parseMetrics('# HELP x\ndabba_db_pool_connections{state="waiting"} 3\ndabba_jobs_queued{queue="notify"} 7\nup 1\n');
    assert.deepEqual(m.get('dabba_db_pool_connections'), [{ labels: { state: 'waiting' }, value: 3 }]);
    assert.equal(m.get('up')?.[0]?.value, 1);
  });

  it('draws four panels without NaN, breaking lines at missing samples', () => {
    const svg = renderSoakSvg(run((t) => (t === 600 ? { rss_mb: null } : {})), 'test');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/class="panel /g) ?? []).length, 4);
    assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
    assert.ok(svg.trimEnd().endsWith('</svg>'));
  });
});
