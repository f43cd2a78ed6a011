import { distanceKm } from '../../../src/domain/geo.ts';
import type { LatLng } from './types.ts';

export { distanceKm, offset } from '../../../src/domain/geo.ts';

/** Where the pages look first when nothing else says where: the demo city's centre (Mumbai). */
export const DEFAULT_CENTRE: LatLng = { lat: 19.076, lng: 72.8777 };

/** The point `km` from `from` towards `to`, or `to` itself when it is nearer (a straight line: fine within a city). */
export function towards(from: LatLng, to: LatLng, km: number): LatLng {
  const d = distanceKm(from, to);
  if (d <= km) return { ...to };
  const f = km / d;
  return { lat: from.lat + (to.lat - from.lat) * f, lng: from.lng + (to.lng - from.lng) * f };
}

export function centroid(points: LatLng[]): LatLng | null {
  if (points.length === 0) return null;
  const sum = points.reduce((s, p) => ({ lat: s.lat + p.lat, lng: s.lng + p.lng }), { lat: 0, lng: 0 });
  return { lat: sum.lat / points.length, lng: sum.lng / points.length };
}
