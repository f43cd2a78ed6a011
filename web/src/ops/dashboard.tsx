import { CityMap, Legend, type MapLine, type MapMarker, type MarkerKind } from '../shared/map.tsx';
import type { Signed } from '../shared/session.ts';
import { shortId, STATUS_LABEL } from '../shared/format.ts';
import { Sparkline } from '../shared/sparkline.tsx';
import type { CitySample, CourierState, HealthSample, Restaurant } from '../shared/types.ts';
import { LinkBadge } from '../shared/ui.tsx';
import { useCityRestaurants, useOpsStream } from './use-ops-stream.ts';

const COURIER_STATES: CourierState[] = ['available', 'offered', 'busy', 'stale'];

function cityMarkers(city: CitySample | null, restaurants: Restaurant[]): { markers: MapMarker[]; lines: MapLine[] } {
  const markers: MapMarker[] = restaurants.map((r) => ({ id: r.id, lat: r.lat, lng: r.lng, kind: 'restaurant', label: r.name }));
  for (const c of city?.couriers ?? []) markers.push({ id: c.id, lat: c.lat, lng: c.lng, kind: c.state, label: `Courier ${shortId(c.id)}: ${c.state}` });
  const lines: MapLine[] = (city?.orders ?? []).map((o) => ({
    id: o.id,
    from: { lat: o.restaurant_lat, lng: o.restaurant_lng },
    to: { lat: o.delivery_lat, lng: o.delivery_lng },
    kind: o.status === 'picked_up' ? 'moving' : 'waiting',
  }));
  return { markers, lines };
}

function Charts({ health }: { health: HealthSample[] }) {
  const latest = health.at(-1);
  const partners = Object.keys(latest?.partner_latency_p99_ms ?? {}).sort();
  return (
    <section class="card" aria-labelledby="server-title">
      <h2 id="server-title">The server, live</h2>
      <div class="charts">
        <Sparkline title="Requests per second" values={health.map((h) => h.requests_per_second)} unit="/s" digits={1} />
        <Sparkline title="p99 latency" values={health.map((h) => h.latency_p99_ms)} unit="ms" none="no requests" />
        <Sparkline title="Event-loop delay p99" values={health.map((h) => h.event_loop.delay_p99_ms)} unit="ms" digits={1} />
        <Sparkline title="Event-loop utilisation" values={health.map((h) => h.event_loop.utilization * 100)} unit="%" />
        {partners.map((p) => (
          <Sparkline key={p} title={`${p} p99`} values={health.map((h) => h.partner_latency_p99_ms[p] ?? null)} unit="ms" none="no calls" />
        ))}
      </div>
      {latest && (
        <div class="columns">
          <div>
            <h3>Circuit breakers</h3>
            <ul class="plain" aria-label="Circuit breakers">
              {Object.entries(latest.breakers).map(([partner, state]) => (
                <li key={partner}>
                  {partner}: <strong class={`breaker-${state}`}>{state.replace('_', '-')}</strong>
                </li>
              ))}
              {Object.keys(latest.breakers).length === 0 && <li class="muted">No partner called yet</li>}
            </ul>
          </div>
          <div>
            <h3>Now</h3>
            <ul class="plain">
              <li>Requests in flight: {latest.requests_in_flight}</li>
              {latest.db_pool && (
                <li>
                  Database pool: {latest.db_pool.total - latest.db_pool.idle} busy of {latest.db_pool.total}, {latest.db_pool.waiting} waiting
                </li>
              )}
              <li>
                Live connections:{' '}
                {Object.entries(latest.live_connections)
                  .map(([kind, n]) => `${kind.replace('_', ' ')} ${n}`)
                  .join(', ') || 'none'}
              </li>
            </ul>
          </div>
        </div>
      )}
    </section>
  );
}

export function Dashboard({ signed, signOut }: { signed: Signed; signOut: () => void }) {
  const { city, health, link } = useOpsStream(signed.token, signOut);
  const restaurants = useCityRestaurants(city);
  const { markers, lines } = cityMarkers(city, restaurants);
  const counts: Partial<Record<MarkerKind, number>> = { restaurant: restaurants.length };
  for (const c of city?.couriers ?? []) counts[c.state] = (counts[c.state] ?? 0) + 1;
  const byStatus = new Map<string, number>();
  for (const o of city?.orders ?? []) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
  const summary =
    `${restaurants.length} restaurants; couriers: ${COURIER_STATES.map((s) => `${counts[s] ?? 0} ${s}`).join(', ')}; ` +
    `${city?.orders.length ?? 0} orders in flight.`;
  return (
    <>
      <p>
        <LinkBadge state={link} label="Ops stream" />
      </p>
      <div class="grid">
        <section class="card" aria-labelledby="city-title">
          <h2 id="city-title">The city</h2>
          <CityMap label="Map of the city" markers={markers} lines={lines} summary={summary} />
          <Legend kinds={['restaurant', ...COURIER_STATES]} counts={counts} routes />
        </section>
        <section class="card" aria-labelledby="orders-title">
          <h2 id="orders-title">Orders in flight</h2>
          <p>
            <strong>{city?.orders.length ?? 0}</strong>
            {city?.orders_truncated ? ' (showing the first 5,000)' : ''}
          </p>
          <ul class="plain" aria-label="Orders in flight by status">
            {[...byStatus].map(([status, n]) => (
              <li key={status}>
                {STATUS_LABEL[status as keyof typeof STATUS_LABEL] ?? status}: {n}
              </li>
            ))}
          </ul>
        </section>
      </div>
      <Charts health={health} />
    </>
  );
}
