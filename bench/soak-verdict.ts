/**
 * The soak's verdict: per metric, the median of the first minutes against the median of the last,
 * the least-squares slope over the second half, and whether the growth is within tolerance.
 * Medians, because single samples are noisy (GC sawtooth, other work on a shared machine); the
 * slope is there to read a trend by eye, and for queues its fitted rise must stay within the slack.
 */
import type { SoakSample } from './soak-sample.ts';

export interface MetricSummary {
  metric: string;
  unit: string;
  first: number | null;
  last: number | null;
  /** Least-squares slope over the second half of the run, per 10 minutes. */
  slope_per_10min: number | null;
  tolerance: string;
  /** null: reported, not judged. */
  ok: boolean | null;
}

export interface SoakVerdict {
  /** Length of the "first" and "last" windows: 5 minutes, or a third of a shorter run so they never overlap. */
  edge_window_s: number;
  metrics: MetricSummary[];
  error_share: number;
  order_refusal_share: number;
  flat: boolean;
}

const median = (xs: number[]) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Slope of y over t by least squares, in units per second; null under three points. */
function slope(points: [number, number][]): number | null {
  if (points.length < 3) return null;
  const n = points.length;
  const mt = points.reduce((a, [t]) => a + t, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den ? num / den : 0;
}

const r3 = (x: number | null) => (x === null ? null : Number(x.toPrecision(3)));

type Read = (s: SoakSample) => number | null;
type Judge = (first: number, last: number, rise: number | null) => boolean;

/** Memory may grow by this much between the first and the last minutes: whichever is larger. */
export const MEMORY_GROWTH = { share: 0.1, mb: 25 };
export const LOOP_P99_MAX_MS = 50;
export const POOL_WAITING_SLACK = 2;
export const JOBS_QUEUED_SLACK = 25;
export const ERROR_SHARE_MAX = 0.01;
export const ORDER_REFUSAL_MAX = 0.2;

const memory: Judge = (first, last) => last - first <= Math.max(first * MEMORY_GROWTH.share, MEMORY_GROWTH.mb);
// A queue "not growing": its level at the end within slack of its level at the start, and no rising trend
// over the second half larger than the slack either (a queue that builds late has a low last median yet).
const queue =
  (slack: number): Judge =>
  (first, last, rise) =>
    last <= Math.max(first * 1.5, first + slack) && (rise === null || rise <= slack);

const METRICS: { metric: string; unit: string; read: Read; tolerance: string; judge?: Judge }[] = [
  { metric: 'RSS', unit: 'MB', read: (s) => s.rss_mb, tolerance: `+${MEMORY_GROWTH.share * 100}% or +${MEMORY_GROWTH.mb} MB`, judge: memory },
  { metric: 'heap used', unit: 'MB', read: (s) => s.heap_used_mb, tolerance: `+${MEMORY_GROWTH.share * 100}% or +${MEMORY_GROWTH.mb} MB`, judge: memory },
  { metric: 'heap total', unit: 'MB', read: (s) => s.heap_total_mb, tolerance: '—' },
  { metric: 'loop delay p99', unit: 'ms', read: (s) => s.loop_p99_ms, tolerance: `last < ${LOOP_P99_MAX_MS} ms`, judge: (_f, last) => last < LOOP_P99_MAX_MS },
  { metric: 'loop delay max', unit: 'ms', read: (s) => s.loop_max_ms, tolerance: '—' },
  { metric: 'pool waiting', unit: '', read: (s) => s.pool_waiting, tolerance: `not growing (±${POOL_WAITING_SLACK})`, judge: queue(POOL_WAITING_SLACK) },
  { metric: 'pool total', unit: '', read: (s) => s.pool_total, tolerance: '—' },
  { metric: 'jobs queued', unit: '', read: (s) => s.jobs_queued_total, tolerance: `not growing (±${JOBS_QUEUED_SLACK})`, judge: queue(JOBS_QUEUED_SLACK) },
  { metric: 'oldest job', unit: 's', read: (s) => s.jobs_oldest_s, tolerance: '—' },
  { metric: 'in flight', unit: '', read: (s) => s.in_flight, tolerance: '—' },
  { metric: 'open connections', unit: '', read: (s) => s.open_connections, tolerance: '—' },
  { metric: 'open fds', unit: '', read: (s) => s.open_fds, tolerance: '—' },
  { metric: 'latency p50', unit: 'ms', read: (s) => s.load.p50_ms, tolerance: '—' },
  { metric: 'latency p99', unit: 'ms', read: (s) => s.load.p99_ms, tolerance: '—' },
];

export function judge(samples: SoakSample[], durationS: number): SoakVerdict {
  const edge = Math.min(300, durationS / 3);
  const end = samples.at(-1)?.t_s ?? durationS;
  const metrics = METRICS.map(({ metric, unit, read, tolerance, judge: check }): MetricSummary => {
    const at = (from: number, to: number) =>
      samples.filter((s) => s.t_s > from && s.t_s <= to).map(read).filter((v): v is number => v !== null);
    const first = median(at(0, edge));
    const last = median(at(end - edge, end));
    const half = samples.filter((s) => s.t_s > end / 2).map((s) => [s.t_s, read(s)] as [number, number | null]);
    const fit = slope(half.filter((p): p is [number, number] => p[1] !== null));
    const rise = fit === null ? null : fit * (end / 2);
    // A metric with no data cannot show it is flat.
    const ok = !check ? null : first === null || last === null ? false : check(first, last, rise);
    return { metric, unit, first: r3(first), last: r3(last), slope_per_10min: r3(fit === null ? null : fit * 600), tolerance, ok };
  });
  const total = (read: Read) => samples.reduce((a, s) => a + (read(s) ?? 0), 0);
  const ok = total((s) => s.load.ok);
  const refused = total((s) => s.load.refused);
  const failed = total((s) => Object.values(s.load.errors).reduce((x, y) => x + y, 0));
  const orders = total((s) => s.load.ok_by_kind.order);
  const error_share = ok + refused + failed ? failed / (ok + refused + failed) : 1;
  const order_refusal_share = orders + refused ? refused / (orders + refused) : 1;
  const share = (metric: string, value: number, tolerance: string, pass: boolean): MetricSummary => ({
    metric,
    unit: 'share',
    first: null,
    last: r3(value),
    slope_per_10min: null,
    tolerance,
    ok: pass,
  });
  // Flat memory means nothing if the requests failed instead of being served, or no order got through.
  metrics.push(
    share('errors', error_share, `≤ ${ERROR_SHARE_MAX * 100}% (5xx, other 4xx, timeouts)`, error_share <= ERROR_SHARE_MAX),
    share('orders refused (422)', order_refusal_share, `≤ ${ORDER_REFUSAL_MAX * 100}% of orders`, order_refusal_share <= ORDER_REFUSAL_MAX),
  );
  return { edge_window_s: Math.round(edge), metrics, error_share, order_refusal_share, flat: metrics.every((m) => m.ok !== false) };
}

export function formatVerdict(v: SoakVerdict): string {
  const mins = `${Math.round((v.edge_window_s / 60) * 10) / 10} min`;
  const head = ['metric', `first ${mins}`, `last ${mins}`, 'slope /10 min (2nd half)', 'tolerance', 'ok'];
  const rows = v.metrics.map((m) => [
    m.unit && m.unit !== 'share' ? `${m.metric} (${m.unit})` : m.metric,
    m.first === null ? '—' : String(m.first),
    m.last === null ? '—' : m.unit === 'share' ? `${(m.last * 100).toFixed(2)}%` : String(m.last),
    m.slope_per_10min === null ? '—' : String(m.slope_per_10min),
    m.tolerance,
    m.ok === null ? '' : m.ok ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line), '', `verdict: ${v.flat ? 'flat' : 'NOT FLAT'}`].join('\n');
}
