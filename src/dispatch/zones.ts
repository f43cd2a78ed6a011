import { cellToLatLng, latLngToCell } from 'h3-js';
import type { Point } from '../domain/geo.ts';

/**
 * Dispatch zones are H3 cells (hexagons of near-equal area at one resolution): an order belongs to the
 * zone of its restaurant, a courier to the zone of its last position. The resolution is
 * DISPATCH_ZONE_RESOLUTION (6: ~36 km², edge ~3.7 km, a city district).
 * @see https://h3geo.org/docs/core-library/restable
 */
export function zoneOf(point: Point, resolution: number): string {
  return latLngToCell(point.lat, point.lng, resolution);
}

export function zoneCenter(zone: string): Point {
  const [lat, lng] = cellToLatLng(zone);
  return { lat, lng };
}
