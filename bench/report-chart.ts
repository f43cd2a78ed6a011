/** The concurrency chart: throughput and p99 against connections, dabba and the baseline, as SVG. */
import { type BenchRun, type LevelResult, fmt, runDate } from './report-rows.ts';

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export const SVG_TITLE = 'feed: throughput and p99 against concurrency';
const SERIES: { server: LevelResult['server']; color: string; dash: string }[] = [
  { server: 'dabba', color: '#d9480f', dash: '' },
  { server: 'baseline', color: '#1c7ed6', dash: '6 4' },
];

/** A coordinate for the SVG: one decimal, never NaN. */
function c(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0';
}

function niceStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

function tickLabel(v: number): string {
  const clean = (x: number) => String(Number(x.toPrecision(6)));
  return Math.abs(v) >= 1000 ? `${clean(v / 1000)}k` : clean(v);
}

/** Feed points per server, by connections: 'sweep' results, then closed 'feed' ones where the sweep has none. */
function feedSeries(run: BenchRun, server: LevelResult['server']): LevelResult[] {
  const byConns = new Map<number, LevelResult>();
  const usable = (r: LevelResult) => r.server === server && Number.isFinite(r.connections) && r.connections > 0;
  for (const r of run.results) if (usable(r) && r.scenario === 'sweep') byConns.set(r.connections, r);
  for (const r of run.results) {
    if (usable(r) && r.scenario === 'feed' && r.mode === 'closed' && !byConns.has(r.connections)) {
      byConns.set(r.connections, r);
    }
  }
  return [...byConns.values()].sort((a, b) => a.connections - b.connections);
}

/** Standalone SVG, two panels: feed rps and p99 against connections (log x), one line per server. */
export function renderSvg(run: BenchRun): string {
  const W = 900;
  const H = 420;
  const top = 86;
  const bottom = 350;
  const series = SERIES.map((s) => ({ ...s, points: feedSeries(run, s.server) }));
  const allConns = series.flatMap((s) => s.points.map((p) => p.connections));
  const xMin = Math.min(10, ...allConns);
  const xMax = Math.max(5000, ...allConns);
  const lx0 = Math.log10(xMin);
  const lx1 = Math.log10(xMax);
  const xTicks = [1, 2, 5]
    .flatMap((m) => [1, 10, 100, 1000, 10000, 100000].map((p) => m * p))
    .filter((t) => t >= xMin && t <= xMax)
    .sort((a, b) => a - b);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<title>${escapeXml(SVG_TITLE)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="28" font-size="16" font-weight="600" fill="#212529">${escapeXml(SVG_TITLE)}</text>`,
  );
  const when = run.started_at ? `${runDate(run.started_at)} · ` : '';
  const subtitle = `${when}${run.quick ? 'quick' : 'full'} run · ${run.machine?.cpus ?? ''} (${run.machine?.cores ?? '?'} cores) · Node ${run.machine?.node ?? ''}`;
  out.push(`<text x="20" y="48" fill="#6c757d">${escapeXml(subtitle)}</text>`);

  // legend
  SERIES.forEach((s, i) => {
    const x = 700 + i * 100;
    out.push(
      `<g class="legend legend-${s.server}">`,
      `<line x1="${x}" y1="24" x2="${x + 24}" y2="24" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      `<circle cx="${x + 12}" cy="24" r="3" fill="${s.color}"/>`,
      `<text x="${x + 30}" y="28" fill="#212529">${escapeXml(s.server)}</text>`,
      '</g>',
    );
  });

  const panels: { title: string; unit: string; value: (r: LevelResult) => number }[] = [
    { title: 'throughput', unit: 'successful responses per second', value: (r) => r.rps },
    { title: 'p99 latency', unit: 'p99 latency (ms)', value: (r) => r.p99_ms },
  ];
  panels.forEach((panel, i) => {
    const left = i * 450 + 70;
    const right = i * 450 + 430;
    const values = series.flatMap((s) => s.points.map(panel.value)).filter((v) => Number.isFinite(v) && v >= 0);
    const vMax = values.length ? Math.max(...values) : 0;
    const step = niceStep(vMax > 0 ? vMax * 1.05 : 1, 5);
    const yMax = Math.max(step, Math.ceil((vMax * 1.05) / step) * step);
    const sx = (conns: number) => left + ((Math.log10(conns) - lx0) / (lx1 - lx0 || 1)) * (right - left);
    const sy = (v: number) => bottom - (v / yMax) * (bottom - top);

    out.push(`<g class="panel panel-${i === 0 ? 'rps' : 'p99'}">`);
    out.push(
      `<text x="${left}" y="${top - 12}" font-size="13" font-weight="600" fill="#212529">${escapeXml(panel.title)}</text>`,
    );
    // grid and y ticks
    for (let v = 0; v <= yMax + step / 2; v += step) {
      const y = sy(v);
      out.push(
        `<line x1="${left}" y1="${c(y)}" x2="${right}" y2="${c(y)}" stroke="#e9ecef"/>`,
        `<text x="${left - 6}" y="${c(y + 4)}" text-anchor="end" fill="#495057">${escapeXml(tickLabel(v))}</text>`,
      );
    }
    // x ticks
    for (const t of xTicks) {
      const x = sx(t);
      out.push(
        `<line x1="${c(x)}" y1="${bottom}" x2="${c(x)}" y2="${bottom + 5}" stroke="#495057"/>`,
        `<line x1="${c(x)}" y1="${top}" x2="${c(x)}" y2="${bottom}" stroke="#f1f3f5"/>`,
        `<text x="${c(x)}" y="${bottom + 18}" text-anchor="middle" fill="#495057">${escapeXml(tickLabel(t))}</text>`,
      );
    }
    // axes
    out.push(
      `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#495057"/>`,
      `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#495057"/>`,
      `<text x="${(left + right) / 2}" y="${bottom + 40}" text-anchor="middle" fill="#212529">concurrent connections (log scale)</text>`,
      `<text transform="translate(${left - 52} ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#212529">${escapeXml(panel.unit)}</text>`,
    );
    // series
    for (const s of series) {
      const pts = s.points.filter((p) => Number.isFinite(panel.value(p)) && panel.value(p) >= 0);
      out.push(`<g class="series series-${s.server}">`);
      if (pts.length > 1) {
        const d = pts.map((p, j) => `${j ? 'L' : 'M'}${c(sx(p.connections))} ${c(sy(panel.value(p)))}`).join(' ');
        out.push(
          `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
        );
      }
      for (const p of pts) {
        const label = `${s.server}, ${p.connections} connections: ${fmt(panel.value(p))} ${i === 0 ? 'rps' : 'ms'}`;
        out.push(
          `<circle cx="${c(sx(p.connections))}" cy="${c(sy(panel.value(p)))}" r="3.5" fill="${s.color}"><title>${escapeXml(label)}</title></circle>`,
        );
      }
      out.push('</g>');
    }
    if (!values.length) {
      out.push(
        `<text x="${(left + right) / 2}" y="${(top + bottom) / 2}" text-anchor="middle" fill="#adb5bd">no data</text>`,
      );
    }
    out.push('</g>');
  });

  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** `2025-06-01T14-03-05` (UTC) from started_at, or now when started_at doesn't parse. */
