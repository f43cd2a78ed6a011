import { distanceKm, offset, type Point } from '../../src/domain/geo.ts';

/** The city's extent: where customers live and idle couriers wander. */
export interface CityArea {
  center: Point;
  radiusKm: number;
}

/** A straight ride from one point to another, timed in real milliseconds; a stop is a ride that goes nowhere. */
export interface Leg {
  from: Point;
  to: Point;
  startMs: number;
  durationMs: number;
}

/** Couriers ride at 15–25 km/h through the city. */
export const CITY_SPEED_KMH = [15, 25] as const;
/** The share of the API's COURIER_MAX_SPEED_KMH a courier may be seen to reach: fixes are timed by a phone, not a metronome. */
const SPEED_MARGIN = 0.8;

/**
 * The speed a courier is seen to move at in real time: its city speed times the time scale, but never
 * past the margin below the API's COURIER_MAX_SPEED_KMH, past which the API would refuse its fixes as
 * glitches. Beyond the scale that limit allows, rides take longer than the scale says.
 */
export function wallSpeedKmh(cityKmh: number, timeScale: number, apiMaxKmh: number) {
  return Math.min(cityKmh * timeScale, apiMaxKmh * SPEED_MARGIN);
}

/** The COURIER_MAX_SPEED_KMH under which the fastest courier still moves at the full time scale. */
export function speedLimitForScaleKmh(timeScale: number) {
  return Math.ceil((CITY_SPEED_KMH[1] * timeScale) / SPEED_MARGIN);
}

export function ride(from: Point, to: Point, wallKmh: number, nowMs: number): Leg {
  return { from, to, startMs: nowMs, durationMs: (distanceKm(from, to) / wallKmh) * 3_600_000 };
}

export function stay(at: Point, durationMs: number, nowMs: number): Leg {
  return { from: at, to: at, startMs: nowMs, durationMs };
}

export const arrived = (leg: Leg, nowMs: number) => nowMs - leg.startMs >= leg.durationMs;

/** Where a leg has got to: a straight line in lat/lng, which is straight enough across a city. */
export function positionOn(leg: Leg, nowMs: number): Point {
  const t = leg.durationMs <= 0 ? 1 : Math.min(1, Math.max(0, (nowMs - leg.startMs) / leg.durationMs));
  return { lat: leg.from.lat + (leg.to.lat - leg.from.lat) * t, lng: leg.from.lng + (leg.to.lng - leg.from.lng) * t };
}

/** A point uniformly spread over the disc (not crowded at its centre). */
export function pointWithin(area: CityArea, rand: () => number): Point {
  return offset(area.center, rand() * 360, area.radiusKm * Math.sqrt(rand()));
}

/**
 * Where an idle courier rides next: a few hundred metres on, turning back towards the centre once it
 * nears the city's edge, as couriers reposition towards where the orders are.
 */
export function wanderFrom(at: Point, area: CityArea, rand: () => number): Point {
  const km = 0.3 + rand() * 0.9;
  if (distanceKm(at, area.center) > area.radiusKm * 0.85) {
    const towards = bearingDeg(at, area.center);
    return offset(at, towards + (rand() - 0.5) * 90, km);
  }
  return offset(at, rand() * 360, km);
}

function bearingDeg(from: Point, to: Point) {
  const rad = Math.PI / 180;
  const y = Math.sin((to.lng - from.lng) * rad) * Math.cos(to.lat * rad);
  const x = Math.cos(from.lat * rad) * Math.sin(to.lat * rad) - Math.sin(from.lat * rad) * Math.cos(to.lat * rad) * Math.cos((to.lng - from.lng) * rad);
  return Math.atan2(y, x) / rad;
}

/** The smallest disc around `center` holding every point (a radius of at least 1 km). */
export function areaAround(center: Point, points: Point[]): CityArea {
  const farthest = points.reduce((km, p) => Math.max(km, distanceKm(center, p)), 0);
  return { center, radiusKm: Math.max(1, farthest) };
}
