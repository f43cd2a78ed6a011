/**
 * One soak sample: what the API says about itself on /metrics, what the OS says about its process,
 * and what the load generator saw in the same window.
 */
import { readdir } from 'node:fs/promises';
import { rssMb } from './processes.ts';
import type { SoakWindow } from './soak-load.ts';

export interface SoakSample {
  /** Seconds since recording started, at the end of the window. */
  t_s: number;
  /** VmRSS of the API process, from /proc (the OS's view, not the process's own gauge). */
  rss_mb: number | null;
  heap_used_mb: number | null;
  heap_total_mb: number | null;
  /** Since the previous scrape: the soak is the only scraper, so this is the window's. */
  loop_p99_ms: number | null;
  loop_max_ms: number | null;
  pool_total: number | null;
  pool_idle: number | null;
  pool_waiting: number | null;
  jobs_queued: Record<string, number>;
  jobs_queued_total: number | null;
  jobs_oldest_s: number | null;
  open_connections: number | null;
  in_flight: number | null;
  admission_waiting: number | null;
  /** File descriptors the API holds, from /proc: sockets and files that leak show here. */
  open_fds: number | null;
  load: Omit<SoakWindow, 'phase' | 't_s'>;
}

type Series = { labels: Record<string, string>; value: number }[];

/** Prometheus text exposition, just enough of it: `name{a="b",…} value` lines, comments skipped. */
export function parseMetrics(text: string): Map<string, Series> {
  const out = new Map<string, Series>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    const series = out.get(m[1]!) ?? [];
    series.push({ labels, value: Number(m[3]) });
    out.set(m[1]!, series);
  }
  return out;
}

const MB = 1024 * 1024;
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

function pick(metrics: Map<string, Series>, name: string, labels: Record<string, string> = {}): number | null {
  const hit = metrics.get(name)?.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit === undefined || !Number.isFinite(hit.value) ? null : hit.value;
}

function sum(metrics: Map<string, Series>, name: string): number | null {
  const series = metrics.get(name);
  return series ? series.reduce((a, s) => a + s.value, 0) : null;
}

const scaled = (v: number | null, by: number, digits = 2) => (v === null ? null : round(v * by, digits));

async function openFds(pid: number): Promise<number | null> {
  return readdir(`/proc/${pid}/fd`).then(
    (fds) => fds.length,
    () => null,
  );
}

/**
 * Scrapes the API once. Also called, and its result dropped, when recording starts: the loop-delay
 * gauges cover the time since the previous scrape, which would otherwise include the warm-up.
 */
export async function scrape(apiUrl: string): Promise<Map<string, Series>> {
  const text = await fetch(`${apiUrl}/metrics`, { signal: AbortSignal.timeout(5_000) }).then(
    (r) => (r.ok ? r.text() : ''),
    () => '',
  );
  return parseMetrics(text);
}

export async function takeSample(apiUrl: string, pid: number, window: SoakWindow): Promise<SoakSample> {
  const [m, rss, fds] = await Promise.all([scrape(apiUrl), rssMb(pid), openFds(pid)]);
  const jobs: Record<string, number> = {};
  for (const s of m.get('dabba_jobs_queued') ?? []) if (s.labels.queue) jobs[s.labels.queue] = s.value;
  const oldest = m.get('dabba_jobs_oldest_age_seconds');
  const { phase: _phase, t_s, ...load } = window;
  return {
    t_s,
    // rssMb reads 0 when the process is gone: that is no sample, not an empty process.
    rss_mb: rss > 0 ? round(rss, 1) : null,
    heap_used_mb: scaled(pick(m, 'dabba_nodejs_heap_size_used_bytes'), 1 / MB, 1),
    heap_total_mb: scaled(pick(m, 'dabba_nodejs_heap_size_total_bytes'), 1 / MB, 1),
    loop_p99_ms: scaled(pick(m, 'dabba_event_loop_delay_p99_seconds'), 1000),
    loop_max_ms: scaled(pick(m, 'dabba_event_loop_delay_max_seconds'), 1000),
    pool_total: pick(m, 'dabba_db_pool_connections', { state: 'total' }),
    pool_idle: pick(m, 'dabba_db_pool_connections', { state: 'idle' }),
    pool_waiting: pick(m, 'dabba_db_pool_connections', { state: 'waiting' }),
    jobs_queued: jobs,
    jobs_queued_total: sum(m, 'dabba_jobs_queued'),
    jobs_oldest_s: oldest ? round(Math.max(0, ...oldest.map((s) => s.value)), 1) : null,
    open_connections: pick(m, 'dabba_http_open_connections'),
    in_flight: pick(m, 'dabba_http_requests_in_flight'),
    admission_waiting: sum(m, 'dabba_http_admission_waiting'),
    open_fds: fds,
    load,
  };
}
