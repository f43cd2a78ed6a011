import { type FieldErrors, hasErrors, invalid, isObject, objectBody } from './fields.ts';
import { type PartnerSim, type Reply, type SimRequest, notFound, reply } from './http.ts';

interface Point {
  lat: number;
  lng: number;
}

const EARTH_RADIUS_KM = 6371.0088;
/** Average urban two-wheeler speed including stops; what the fake model assumes for every trip. */
const SPEED_KMH = 20;
const rad = (deg: number) => (deg * Math.PI) / 180;

export function haversineKm(a: Point, b: Point): number {
  const h =
    Math.sin(rad(b.lat - a.lat) / 2) ** 2 +
    Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lng - a.lng) / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Travel time plus prep, with ±10% noise on travel so callers cannot rely on exact values. */
function predictMinutes(origin: Point, destination: Point, prepMinutes: number, random = Math.random): number {
  const travel = (haversineKm(origin, destination) / SPEED_KMH) * 60;
  return Math.max(1, Math.round(prepMinutes + travel * (0.9 + 0.2 * random())));
}

function point(value: unknown, field: string, errors: FieldErrors): Point {
  const lat = isObject(value) ? value['lat'] : undefined;
  const lng = isObject(value) ? value['lng'] : undefined;
  if (typeof lat !== 'number' || !(lat >= -90 && lat <= 90))
    errors[`${field}.lat`] = 'must be a number between -90 and 90';
  if (typeof lng !== 'number' || !(lng >= -180 && lng <= 180))
    errors[`${field}.lng`] = 'must be a number between -180 and 180';
  return { lat: Number(lat), lng: Number(lng) };
}

export class EtaSim implements PartnerSim {
  handle(req: SimRequest): Reply {
    const [version, action, extra] = req.segments;
    if (req.method !== 'POST' || version !== 'v1' || action !== 'predict' || extra !== undefined) return notFound();
    const errors: FieldErrors = {};
    const body = objectBody(req.body, errors);
    const origin = point(body['origin'], 'origin', errors);
    const destination = point(body['destination'], 'destination', errors);
    const prep = body['prep_minutes'] ?? 0;
    if (typeof prep !== 'number' || !(prep >= 0 && prep <= 24 * 60))
      errors['prep_minutes'] = 'must be a number between 0 and 1440';
    if (hasErrors(errors)) return invalid(errors);
    return reply(200, { minutes: predictMinutes(origin, destination, prep as number), model: 'sim-v1' });
  }

  control(): Reply | undefined {
    return undefined;
  }

  reset(): void {}
}
