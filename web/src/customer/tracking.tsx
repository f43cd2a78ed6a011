import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../shared/api.ts';
import { formatMoney, formatTime, isFinal, STATUS_LABEL } from '../shared/format.ts';
import { type LinkState, openStream } from '../shared/live.ts';
import { CityMap, Legend, type MapMarker } from '../shared/map.tsx';
import type { Signed } from '../shared/session.ts';
import type { EtaEvent, LatLng, Order, PositionEvent, Restaurant, StatusEvent } from '../shared/types.ts';
import { LinkBadge, Notice } from '../shared/ui.tsx';

const describe = (e: StatusEvent) =>
  e.kind === 'courier_assigned'
    ? 'A courier is on the way to the restaurant'
    : e.kind === 'courier_unassigned'
      ? 'Finding another courier'
      : STATUS_LABEL[e.to];

/**
 * One order, live until it ends. After a reload the stream starts again from the order's first event
 * and the timeline is rebuilt from the server's record, keyed by event id: nothing missed, nothing twice.
 */
export function Tracking({ signed, orderId, onDone, onSignedOut }: { signed: Signed; orderId: string; onDone: () => void; onSignedOut: () => void }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [restaurant, setRestaurant] = useState<Restaurant | null>(null);
  const [events, setEvents] = useState<Map<number, StatusEvent>>(new Map());
  const [courier, setCourier] = useState<LatLng | null>(null);
  const [eta, setEta] = useState<number | null>(null);
  const [link, setLink] = useState<LinkState>('connecting');
  const [error, setError] = useState('');
  const status = useRef<Order['status'] | null>(null);
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;

  useEffect(() => {
    let stream: { close(): void } | undefined;
    let gone = false;
    void (async () => {
      try {
        const o = await api<Order>(`/v1/orders/${orderId}`, { token: signed.token });
        if (gone) return;
        setOrder(o);
        setEta(o.eta_minutes);
        status.current = o.status;
        setRestaurant(await api<Restaurant>(`/v1/restaurants/${o.restaurant_id}`));
      } catch (err) {
        setError(messageOf(err));
        return;
      }
      if (gone) return;
      stream = openStream({
        path: `/v1/orders/${orderId}/track`,
        token: signed.token,
        on: {
          status: (data) => {
            const e = data as StatusEvent;
            setEvents((m) => (m.has(e.event_id) ? m : new Map(m).set(e.event_id, e)));
            if (e.kind === 'status') {
              status.current = e.to;
              setOrder((o) => (o ? { ...o, status: e.to, status_reason: e.reason } : o));
              if (isFinal(e.to)) setCourier(null);
            }
          },
          position: (data) => setCourier(data as PositionEvent),
          eta: (data) => setEta((data as EtaEvent).minutes),
        },
        finished: () => status.current !== null && isFinal(status.current),
        onState: (s) => {
          setLink(s);
          if (s === 'signed-out') signedOut.current();
        },
      });
    })();
    return () => {
      gone = true;
      stream?.close();
    };
  }, [orderId, signed.token]);

  const cancel = async () => {
    try {
      setOrder(await api<Order>(`/v1/orders/${orderId}/cancel`, { method: 'POST', token: signed.token, body: {} }));
    } catch (err) {
      setError(messageOf(err));
    }
  };

  if (!order) {
    if (!error) return <p>Loading the order…</p>;
    return (
      <section class="card">
        <Notice kind="alert" text={error} />
        <button type="button" onClick={onDone}>
          Back to restaurants
        </button>
      </section>
    );
  }
  const timeline = [...events.values()].sort((a, b) => a.event_id - b.event_id);
  const markers: MapMarker[] = [{ id: 'home', lat: order.delivery_lat, lng: order.delivery_lng, kind: 'home', label: `Delivery: ${order.delivery_address}` }];
  if (restaurant) markers.push({ id: restaurant.id, lat: restaurant.lat, lng: restaurant.lng, kind: 'restaurant', label: restaurant.name });
  if (courier) markers.push({ id: 'courier', ...courier, kind: 'busy', label: 'Your courier' });
  const final = isFinal(order.status);
  return (
    <div class="grid">
      <section class="card" aria-labelledby="track-title">
        <h2 id="track-title">Your order{restaurant ? ` from ${restaurant.name}` : ''}</h2>
        <p class="row">
          <span>
            Status: <strong data-testid="order-status">{STATUS_LABEL[order.status]}</strong>
          </span>
          {!final && eta !== null && <span>· about {eta} min to delivery</span>}
          <LinkBadge state={link} label="Tracking" />
        </p>
        {order.status_reason && final && order.status !== 'delivered' && <p class="degraded">Reason: {order.status_reason}</p>}
        <CityMap
          key={order.id}
          label="Map of your order"
          markers={markers}
          lines={restaurant ? [{ id: 'route', from: restaurant, to: { lat: order.delivery_lat, lng: order.delivery_lng }, kind: courier ? 'moving' : 'waiting' }] : []}
          summary={courier ? 'Your courier is on the map.' : 'No courier position yet.'}
        />
        <Legend kinds={['restaurant', 'home', 'busy']} />
      </section>
      <section class="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">What happened</h2>
        <ol class="timeline" aria-label="Order timeline">
          {timeline.map((e) => (
            <li key={e.event_id} data-event-id={e.event_id}>
              {describe(e)} <time dateTime={e.at}>{formatTime(e.at)}</time>
            </li>
          ))}
        </ol>
        <Notice text={timeline.length ? `${describe(timeline.at(-1)!)}.` : ''} />
        <h3>Items</h3>
        <ul class="plain">
          {order.items.map((i) => (
            <li key={i.line}>
              {i.quantity} × {i.name} — {formatMoney(i.line_total_cents, order.currency)}
            </li>
          ))}
          <li>
            Delivery {formatMoney(order.delivery_fee_cents, order.currency)} · <strong>Total {formatMoney(order.total_cents, order.currency)}</strong>
          </li>
        </ul>
        {error && <Notice kind="alert" text={error} />}
        <p class="row">
          {(order.status === 'placed' || order.status === 'confirmed') && (
            <button type="button" class="danger" onClick={cancel}>
              Cancel order
            </button>
          )}
          {final && (
            <button type="button" onClick={onDone}>
              Order something else
            </button>
          )}
        </p>
      </section>
    </div>
  );
}
