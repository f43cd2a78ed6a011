import { useEffect, useRef, useState } from 'preact/hooks';
import type { CourierState, LatLng } from './types.ts';

/**
 * The city drawn from coordinates alone (no tiles: the pages work offline): an equirectangular
 * projection, fine at a city's scale, in an SVG that scales to its box. Every kind of dot has its own
 * shape as well as its own colour, so the legend reads without colour.
 */

export type MarkerKind = 'restaurant' | 'home' | CourierState;

export interface MapMarker extends LatLng {
  id: string;
  kind: MarkerKind;
  label: string;
}

export interface MapLine {
  id: string;
  from: LatLng;
  to: LatLng;
  /** waiting: no courier has the food yet; moving: a courier carries it. */
  kind: 'waiting' | 'moving';
}

export const MARKER_LABEL: Record<MarkerKind, string> = {
  restaurant: 'Restaurant',
  home: 'Delivery address',
  available: 'Courier, available',
  offered: 'Courier, offered an order',
  busy: 'Courier, on an order',
  stale: 'Courier, not heard from',
};

const WIDTH = 1000;

interface Bounds {
  minLat: number;
  maxLat: number;
  minLng: number;
  maxLng: number;
}

/** Bounds that only grow, so dots move on a still map instead of the map moving under them. */
function useGrowingBounds(points: LatLng[]): Bounds | null {
  const ref = useRef<Bounds | null>(null);
  for (const p of points) {
    const b = ref.current;
    if (!b) ref.current = { minLat: p.lat, maxLat: p.lat, minLng: p.lng, maxLng: p.lng };
    else {
      b.minLat = Math.min(b.minLat, p.lat);
      b.maxLat = Math.max(b.maxLat, p.lat);
      b.minLng = Math.min(b.minLng, p.lng);
      b.maxLng = Math.max(b.maxLng, p.lng);
    }
  }
  return ref.current;
}

function projection(b: Bounds) {
  const kx = Math.cos((((b.minLat + b.maxLat) / 2) * Math.PI) / 180);
  // At least ~500 m across, with a margin, so one point or a line of points still makes a map; never
  // taller than three quarters of its width, so it fits beside its legend on a screen.
  const spanX = Math.max((b.maxLng - b.minLng) * kx, 0.005) * 1.2;
  const spanY = Math.max(b.maxLat - b.minLat, 0.005) * 1.2;
  const scale = Math.min(WIDTH / spanX, (WIDTH * 0.75) / spanY);
  const height = Math.round(Math.max(spanY * scale, WIDTH * 0.5));
  const cx = ((b.minLng + b.maxLng) / 2) * kx;
  const cy = (b.minLat + b.maxLat) / 2;
  return {
    height,
    x: (p: LatLng) => WIDTH / 2 + (p.lng * kx - cx) * scale,
    y: (p: LatLng) => height / 2 - (p.lat - cy) * scale,
  };
}

/** One marker's shape at (x, y); its kind's class gives it its colour (styles.css). */
export function Glyph({ kind, x, y, r = 9 }: { kind: MarkerKind; x: number; y: number; r?: number }) {
  const cls = `glyph glyph-${kind}`;
  switch (kind) {
    case 'restaurant':
      return <polygon class={cls} points={`${x},${y - r} ${x + r},${y + r * 0.8} ${x - r},${y + r * 0.8}`} />;
    case 'home':
      return <rect class={cls} x={x - r} y={y - r} width={r * 2} height={r * 2} rx={r * 0.3} transform={`rotate(45 ${x} ${y})`} />;
    case 'offered':
      return <polygon class={cls} points={`${x},${y - r} ${x + r},${y} ${x},${y + r} ${x - r},${y}`} />;
    case 'busy':
      return <rect class={cls} x={x - r * 0.8} y={y - r * 0.8} width={r * 1.6} height={r * 1.6} />;
    default:
      return <circle class={cls} cx={x} cy={y} r={r * 0.8} />;
  }
}

/** How many map units make a screen pixel, so dots keep their size on a phone and on a wall screen. */
function useUnitsPerPixel() {
  const ref = useRef<SVGSVGElement>(null);
  const [units, setUnits] = useState(1000 / 600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => {
      const width = entry?.contentRect.width ?? 0;
      if (width > 0) setUnits(WIDTH / width);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return { ref, units };
}

export function CityMap({ label, markers, lines = [], summary }: { label: string; markers: MapMarker[]; lines?: MapLine[]; summary: string }) {
  const bounds = useGrowingBounds([...markers, ...lines.flatMap((l) => [l.from, l.to])]);
  const { ref, units } = useUnitsPerPixel();
  const p = projection(bounds ?? { minLat: 0, maxLat: 0, minLng: 0, maxLng: 0 });
  const order: MarkerKind[] = ['restaurant', 'home', 'stale', 'available', 'offered', 'busy'];
  const sorted = [...markers].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  return (
    <svg ref={ref} class="map" viewBox={`0 0 ${WIDTH} ${p.height}`} role="img" aria-label={`${label}. ${summary}`} preserveAspectRatio="xMidYMid meet">
      <rect class="map-ground" x="0" y="0" width={WIDTH} height={p.height} />
      {lines.map((l) => (
        <line key={l.id} class={`route route-${l.kind}`} x1={p.x(l.from)} y1={p.y(l.from)} x2={p.x(l.to)} y2={p.y(l.to)} />
      ))}
      {sorted.map((m) => (
        <g key={`${m.kind}:${m.id}`} data-kind={m.kind}>
          <title>{m.label}</title>
          <Glyph kind={m.kind} x={p.x(m)} y={p.y(m)} r={(m.kind === 'restaurant' || m.kind === 'home' ? 8 : 7) * units} />
        </g>
      ))}
    </svg>
  );
}

export function Legend({ kinds, counts, routes = false }: { kinds: MarkerKind[]; counts?: Partial<Record<MarkerKind, number>>; routes?: boolean }) {
  return (
    <ul class="legend" aria-label="Map legend">
      {kinds.map((k) => (
        <li key={k}>
          <svg class="swatch" viewBox="0 0 24 24" aria-hidden="true">
            <Glyph kind={k} x={12} y={12} r={8} />
          </svg>
          {MARKER_LABEL[k]}
          {counts && <strong> {counts[k] ?? 0}</strong>}
        </li>
      ))}
      {routes && (
        <>
          <li>
            <svg class="swatch" viewBox="0 0 24 24" aria-hidden="true">
              <line class="route route-waiting" x1="2" y1="12" x2="22" y2="12" />
            </svg>
            Order, food not yet picked up
          </li>
          <li>
            <svg class="swatch" viewBox="0 0 24 24" aria-hidden="true">
              <line class="route route-moving" x1="2" y1="12" x2="22" y2="12" />
            </svg>
            Order on its way
          </li>
        </>
      )}
    </ul>
  );
}
