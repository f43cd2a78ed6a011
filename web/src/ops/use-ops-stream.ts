import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../shared/api.ts';
import { DEFAULT_CENTRE, centroid } from '../shared/geo.ts';
import { type LinkState, openStream } from '../shared/live.ts';
import type { CitySample, HealthSample, Restaurant } from '../shared/types.ts';

/** Samples kept for the charts: a minute at one a second. */
const HISTORY = 60;

/** The ops stream: the latest city, the last minute of the server's own figures, and the link's state. */
export function useOpsStream(token: string, onSignedOut: () => void) {
  const [city, setCity] = useState<CitySample | null>(null);
  const [health, setHealth] = useState<HealthSample[]>([]);
  const [link, setLink] = useState<LinkState>('connecting');
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;
  useEffect(() => {
    const stream = openStream({
      path: '/v1/ops/stream',
      token,
      on: {
        city: (data) => setCity(data as CitySample),
        health: (data) => setHealth((h) => [...h.slice(-(HISTORY - 1)), data as HealthSample]),
      },
      onState: (s) => {
        setLink(s);
        if (s === 'signed-out') signedOut.current();
      },
    });
    return () => stream.close();
  }, [token]);
  return { city, health, link };
}

/** Restaurants around the city's couriers and orders (or the default centre), read once: they do not move. */
export function useCityRestaurants(city: CitySample | null) {
  const [restaurants, setRestaurants] = useState<Restaurant[]>([]);
  const [asked, setAsked] = useState(false);
  useEffect(() => {
    if (asked || !city) return;
    setAsked(true);
    const centre = centroid([...city.couriers, ...city.orders.map((o) => ({ lat: o.restaurant_lat, lng: o.restaurant_lng }))]) ?? DEFAULT_CENTRE;
    void (async () => {
      const found: Restaurant[] = [];
      let cursor: string | null = null;
      // At most five pages of a hundred: a city's map, not a directory.
      for (let page = 0; page < 5; page++) {
        const q = new URLSearchParams({ lat: String(centre.lat), lng: String(centre.lng), radius_km: '50', limit: '100' });
        if (cursor) q.set('cursor', cursor);
        const res: { items: Restaurant[]; next_cursor: string | null } = await api(`/v1/restaurants?${q}`);
        found.push(...res.items);
        cursor = res.next_cursor;
        if (!cursor) break;
      }
      setRestaurants(found);
    })().catch(() => setAsked(false));
  }, [city, asked]);
  return restaurants;
}
