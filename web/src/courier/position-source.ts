import { DEFAULT_CENTRE, offset, towards } from '../shared/geo.ts';
import type { LatLng } from '../shared/types.ts';

/** A city speed: about what a scooter averages in traffic. */
const SPEED_KMH = 25;
const WANDER_KM = 1;
const SAVED_KEY = 'dabba.courier.position';

export interface Fix extends LatLng {
  at: number;
}

/** Where the courier is: read once a second by the page, which sends it over the socket. */
export interface PositionSource {
  current(): Fix | null;
  /** Where to head next (the pickup, then the drop-off); null: roam near where the shift began. */
  headFor(target: LatLng | null): void;
  stop(): void;
}

function saved(): LatLng | null {
  try {
    const p = JSON.parse(sessionStorage.getItem(SAVED_KEY) ?? 'null') as LatLng | null;
    return p && Number.isFinite(p.lat) && Number.isFinite(p.lng) ? p : null;
  } catch {
    return null;
  }
}

/**
 * A courier riding in straight lines at SPEED_KMH: to its target when it has one, else between random
 * points near home. Its position is kept in the tab, so a reload resumes where it was (a jump would be
 * refused as a glitch).
 */
export function simulatedRoute(): PositionSource {
  const home = saved() ?? offset(DEFAULT_CENTRE, Math.random() * 360, Math.random() * 3);
  let here: LatLng = home;
  let target: LatLng | null = null;
  let roam: LatLng = home;
  let last = Date.now();
  const timer = window.setInterval(() => {
    const now = Date.now();
    const km = (SPEED_KMH * (now - last)) / 3_600_000;
    last = now;
    const goal = target ?? roam;
    here = towards(here, goal, km);
    if (!target && here.lat === roam.lat && here.lng === roam.lng) roam = offset(home, Math.random() * 360, Math.random() * WANDER_KM);
    sessionStorage.setItem(SAVED_KEY, JSON.stringify(here));
  }, 250);
  return {
    current: () => ({ ...here, at: Date.now() }),
    headFor: (t) => {
      target = t;
    },
    stop: () => clearInterval(timer),
  };
}

/** This device's own fixes (the Geolocation API); null until the first arrives or when permission is refused. */
export function deviceLocation(onError: (message: string) => void): PositionSource {
  let fix: Fix | null = null;
  const watch = navigator.geolocation.watchPosition(
    (p) => {
      fix = { lat: p.coords.latitude, lng: p.coords.longitude, at: p.timestamp };
    },
    (err) => onError(`No location from this device: ${err.message}`),
    { enableHighAccuracy: true, maximumAge: 1_000 },
  );
  return {
    current: () => fix,
    headFor: () => undefined,
    stop: () => navigator.geolocation.clearWatch(watch),
  };
}
