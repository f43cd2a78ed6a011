/**
 * The soak plot, as standalone SVG in the style of report-chart.ts: time on x, four small panels
 * stacked so they share the time axis — memory, event-loop delay, queues, client latency.
 */
import { escapeXml } from './report-chart.ts';
import type { SoakSample } from './soak-sample.ts';
import { LOOP_P99_MAX_MS } from './soak-verdict.ts';

interface Line {
  label: string;
  color: string;
  dash?: string;
  read: (s: SoakSample) => number | null;
}
interface Panel {
  title: string;
  unit: string;
  lines: Line[];
  /** A horizontal reference, e.g. the loop-delay tolerance. */
  limit?: { value: number; label: string };
}

const ORANGE = '#d9480f';
const BLUE = '#1c7ed6';
const GREEN = '#2b8a3e';
const GREY = '#868e96';

const PANELS: Panel[] = [
  {
    title: 'memory',
    unit: 'MB',
    lines: [
      { label: 'RSS', color: ORANGE, read: (s) => s.rss_mb },
      { label: 'heap used', color: BLUE, read: (s) => s.heap_used_mb },
      { label: 'heap total', color: BLUE, dash: '6 4', read: (s) => s.heap_total_mb },
    ],
  },
  {
    title: 'event-loop delay',
    unit: 'ms',
    lines: [{ label: 'p99', color: ORANGE, read: (s) => s.loop_p99_ms }],
    limit: { value: LOOP_P99_MAX_MS, label: `${LOOP_P99_MAX_MS} ms tolerance` },
  },
  {
    title: 'queues',
    unit: 'count',
    lines: [
      { label: 'pool waiting', color: ORANGE, read: (s) => s.pool_waiting },
      { label: 'jobs queued', color: BLUE, read: (s) => s.jobs_queued_total },
      { label: 'in flight', color: GREEN, dash: '6 4', read: (s) => s.in_flight },
    ],
  },
  {
    title: 'client latency (open loop, from the scheduled start)',
    unit: 'ms',
    lines: [
      { label: 'p99', color: ORANGE, read: (s) => s.load.p99_ms },
      { label: 'p50', color: BLUE, dash: '6 4', read: (s) => s.load.p50_ms },
    ],
  },
];

/** A coordinate for the SVG: one decimal, never NaN. */
const c = (x: number) => (Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0');

function niceStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}
const label = (v: number) => String(Number(v.toPrecision(6)));

export function renderSoakSvg(samples: SoakSample[], subtitle: string): string {
  const W = 900;
  const PANEL_H = 150;
  const GAP = 56;
  const top0 = 80;
  const left = 70;
  const right = W - 30;
  const H = top0 + PANELS.length * (PANEL_H + GAP) + 10;
  const tMax = Math.max(60, ...samples.map((s) => s.t_s));
  const tStep = niceStep(tMax / 60, 8);
  const sx = (t: number) => left + (t / tMax) * (right - left);
  const title = 'soak: resources and latency over time';

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="28" font-size="16" font-weight="600" fill="#212529">${escapeXml(title)}</text>`,
    `<text x="20" y="48" fill="#6c757d">${escapeXml(subtitle)}</text>`,
  ];
  PANELS.forEach((panel, i) => {
    const top = top0 + i * (PANEL_H + GAP);
    const bottom = top + PANEL_H;
    const values = panel.lines.flatMap((l) => samples.map(l.read)).filter((v): v is number => v !== null && Number.isFinite(v));
    const vMax = Math.max(...values, panel.limit?.value ?? 0, 1);
    const step = niceStep(vMax * 1.05, 4);
    const yMax = Math.ceil((vMax * 1.05) / step) * step;
    const sy = (v: number) => bottom - (v / yMax) * (bottom - top);
    out.push(`<g class="panel panel-${i}">`, `<text x="${left}" y="${top - 10}" font-size="13" font-weight="600" fill="#212529">${escapeXml(panel.title)}</text>`);
    for (let v = 0; v <= yMax + step / 2; v += step) {
      out.push(
        `<line x1="${left}" y1="${c(sy(v))}" x2="${right}" y2="${c(sy(v))}" stroke="#e9ecef"/>`,
        `<text x="${left - 6}" y="${c(sy(v) + 4)}" text-anchor="end" fill="#495057">${escapeXml(label(v))}</text>`,
      );
    }
    for (let m = 0; m <= tMax / 60 + 1e-9; m += tStep) {
      out.push(
        `<line x1="${c(sx(m * 60))}" y1="${bottom}" x2="${c(sx(m * 60))}" y2="${bottom + 4}" stroke="#495057"/>`,
        `<text x="${c(sx(m * 60))}" y="${bottom + 16}" text-anchor="middle" fill="#495057">${escapeXml(label(m))}</text>`,
      );
    }
    out.push(
      `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#495057"/>`,
      `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#495057"/>`,
      `<text transform="translate(${left - 48} ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle" fill="#212529">${escapeXml(panel.unit)}</text>`,
    );
    if (i === PANELS.length - 1) out.push(`<text x="${(left + right) / 2}" y="${bottom + 36}" text-anchor="middle" fill="#212529">minutes since recording started</text>`);
    if (panel.limit) {
      const y = c(sy(panel.limit.value));
      out.push(
        `<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="${GREY}" stroke-dasharray="2 3"/>`,
        `<text x="${left + 6}" y="${c(sy(panel.limit.value) - 4)}" fill="${GREY}">${escapeXml(panel.limit.label)}</text>`,
      );
    }
    // Legend at the panel's top right, one entry per line.
    panel.lines.forEach((l, j) => {
      const x = right - (panel.lines.length - j) * 110;
      out.push(
        `<line x1="${x}" y1="${top - 14}" x2="${x + 22}" y2="${top - 14}" stroke="${l.color}" stroke-width="2.5"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/>`,
        `<text x="${x + 28}" y="${top - 10}" fill="#212529">${escapeXml(l.label)}</text>`,
      );
    });
    for (const l of panel.lines) {
      // A missing sample breaks the line rather than being drawn as zero.
      let d = '';
      let pen = 'M';
      for (const s of samples) {
        const v = l.read(s);
        if (v === null || !Number.isFinite(v)) {
          pen = 'M';
          continue;
        }
        d += `${pen}${c(sx(s.t_s))} ${c(sy(v))} `;
        pen = 'L';
      }
      if (d) out.push(`<path d="${d.trim()}" fill="none" stroke="${l.color}" stroke-width="2" stroke-linejoin="round"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/>`);
    }
    if (!values.length) out.push(`<text x="${(left + right) / 2}" y="${(top + bottom) / 2}" text-anchor="middle" fill="#adb5bd">no data</text>`);
    out.push('</g>');
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
