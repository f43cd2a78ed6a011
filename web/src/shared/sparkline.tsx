/** A figure over the last minute as a small line, its latest value in words beside it. */
interface SparklineProps {
  title: string;
  values: (number | null)[];
  unit: string;
  digits?: number;
  /** What a missing latest value means, e.g. "no calls". */
  none?: string;
}

export function Sparkline({ title, values, unit, digits = 0, none = '—' }: SparklineProps) {
  const w = 120;
  const h = 32;
  const known = values.filter((v): v is number => v !== null);
  const peak = known.length > 0 ? Math.max(...known) : null;
  const max = Math.max(peak ?? 0, 1e-9);
  const latest = values.at(-1);
  const text = latest === null || latest === undefined ? none : `${latest.toFixed(digits)} ${unit}`;
  const step = values.length > 1 ? w / (values.length - 1) : w;
  // A gap (no value: nothing measured) breaks the line rather than reading as zero.
  const segments: [number, number][][] = [[]];
  values.forEach((v, i) => {
    if (v === null) segments.push([]);
    else segments.at(-1)!.push([i * step, h - 2 - (v / max) * (h - 4)]);
  });
  // A lone value between gaps is drawn as a short dash, so it shows.
  const dash = ([x, y]: [number, number]): [number, number][] => [
    [x, y],
    [x + 2, y],
  ];
  const lines = segments
    .filter((seg) => seg.length > 0)
    .map((seg) => (seg.length === 1 ? dash(seg[0]!) : seg).map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' '));
  return (
    <figure class="spark">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} aria-hidden="true" preserveAspectRatio="none">
        {lines.map((points) => (
          <polyline key={points} points={points} />
        ))}
      </svg>
      <output aria-label={title}>{text}</output>
      {peak !== null && <span class="visually-hidden">, highest in the last minute {peak.toFixed(digits)} {unit}</span>}
    </figure>
  );
}
