import { useEffect, useRef, useState } from 'preact/hooks';
import { STATUS_LABEL, shortId } from '../shared/format.ts';
import { CityMap, Legend, type MapMarker } from '../shared/map.tsx';
import type { Signed } from '../shared/session.ts';
import type { LatLng, Offer } from '../shared/types.ts';
import { LinkBadge, Notice } from '../shared/ui.tsx';
import { type Fix, type PositionSource, deviceLocation, simulatedRoute } from './position-source.ts';
import { type Job, useCourier } from './use-courier.ts';

/** How often a fix goes over the socket: the server accepts about one a second (COURIER_MIN_FIX_INTERVAL_MS). */
const SEND_EVERY_MS = 1_000;

function OfferCard({ offer, onAnswer }: { offer: Offer; onAnswer: (accept: boolean) => void }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(t);
  }, []);
  const left = Math.max(0, Math.round((offer.expires_at - now) / 1000));
  return (
    <section class="card order-card fresh" aria-labelledby="offer-title">
      <h2 id="offer-title">Offer: order {shortId(offer.order_id)}</h2>
      <p>
        Pick up at <strong>{offer.pickup.name}</strong> ({offer.pickup_km.toFixed(1)} km away), deliver to {offer.dropoff.address} ({offer.delivery_km.toFixed(1)} km
        further).
      </p>
      <p class="muted">{left} s to answer</p>
      <div class="row">
        <button type="button" onClick={() => onAnswer(true)}>
          Accept offer
        </button>
        <button type="button" class="quiet" onClick={() => onAnswer(false)}>
          Decline offer
        </button>
      </div>
    </section>
  );
}

function JobCard({ job, onMove, onDone }: { job: Job; onMove: (to: 'picked_up' | 'delivered') => void; onDone: () => void }) {
  const ended = ['delivered', 'cancelled', 'rejected', 'payment_failed'].includes(job.status);
  return (
    <section class="card" aria-labelledby="job-title">
      <h2 id="job-title">Order {shortId(job.orderId)}</h2>
      <p>
        Status: <strong data-testid="job-status">{STATUS_LABEL[job.status]}</strong>
      </p>
      <p>
        {job.status === 'picked_up' ? 'Deliver to' : 'Pick up at'} <strong>{job.status === 'picked_up' ? job.dropoff.address : job.pickup.name}</strong>
      </p>
      <div class="row">
        {!ended && job.status !== 'picked_up' && (
          <button type="button" onClick={() => onMove('picked_up')} disabled={job.status !== 'ready'}>
            Picked up
          </button>
        )}
        {job.status === 'picked_up' && (
          <button type="button" onClick={() => onMove('delivered')}>
            Delivered
          </button>
        )}
        {ended && (
          <button type="button" onClick={onDone}>
            Done
          </button>
        )}
      </div>
      {job.status !== 'ready' && job.status !== 'picked_up' && !ended && <p class="hint">“Picked up” opens once the restaurant marks the food ready.</p>}
    </section>
  );
}

export function CourierApp({ signed, signOut }: { signed: Signed; signOut: () => void }) {
  const c = useCourier(signed, signOut);
  const [mode, setMode] = useState<'simulated' | 'device'>('simulated');
  const source = useRef<PositionSource | null>(null);
  const [fix, setFix] = useState<Fix | null>(null);
  const onShift = useRef(c.onShift);
  onShift.current = c.onShift;
  const { setNews, send } = c;

  useEffect(() => {
    const s = mode === 'simulated' ? simulatedRoute() : deviceLocation(setNews);
    source.current = s;
    const timer = window.setInterval(() => {
      const f = s.current();
      setFix(f);
      if (f && onShift.current) send({ type: 'position', lat: f.lat, lng: f.lng, at: f.at });
    }, SEND_EVERY_MS);
    return () => {
      clearInterval(timer);
      s.stop();
    };
  }, [mode, setNews, send]);

  const target: LatLng | null = !c.job ? null : c.job.status === 'picked_up' ? c.job.dropoff : c.job.status === 'delivered' ? null : c.job.pickup;
  useEffect(() => source.current?.headFor(target), [target?.lat, target?.lng]);

  const markers: MapMarker[] = [];
  if (fix) markers.push({ id: 'me', ...fix, kind: c.job ? 'busy' : 'available', label: 'You' });
  const trip = c.job ?? c.offer;
  if (trip) {
    markers.push({ id: 'pickup', ...trip.pickup, kind: 'restaurant', label: trip.pickup.name });
    markers.push({ id: 'dropoff', ...trip.dropoff, kind: 'home', label: trip.dropoff.address });
  }
  return (
    <div class="grid">
      <div>
        <section class="card" aria-labelledby="shift-title">
          <h2 id="shift-title">Shift</h2>
          <p class="row">
            <LinkBadge state={c.link} label="Courier link" />
            <span>
              You are <strong>{c.onShift ? 'on shift' : 'off shift'}</strong>
            </span>
          </p>
          <button type="button" onClick={() => c.setShift(!c.onShift, fix)} disabled={!c.onShift && !fix}>
            {c.onShift ? 'Go off shift' : 'Go on shift'}
          </button>
          <fieldset>
            <legend>Position from</legend>
            <label class="inline">
              <input type="radio" name="position" checked={mode === 'simulated'} onChange={() => setMode('simulated')} />
              Simulated route
            </label>
            <label class="inline">
              <input type="radio" name="position" checked={mode === 'device'} onChange={() => setMode('device')} />
              This device’s location
            </label>
          </fieldset>
          <Notice text={c.news} />
        </section>
        {c.offer && <OfferCard offer={c.offer} onAnswer={c.answer} />}
        {c.job && <JobCard job={c.job} onMove={c.move} onDone={c.finishJob} />}
        {!c.offer && !c.job && c.onShift && <p class="muted">Waiting for an offer…</p>}
      </div>
      <section class="card" aria-labelledby="where-title">
        <h2 id="where-title">Where you are</h2>
        <CityMap key={c.job?.orderId ?? c.offer?.order_id ?? 'roaming'} label="Map of your route" markers={markers} summary={fix ? `You are at ${fix.lat.toFixed(4)}, ${fix.lng.toFixed(4)}.` : 'No position yet.'} />
        <Legend kinds={trip ? [c.job ? 'busy' : 'available', 'restaurant', 'home'] : ['available']} />
      </section>
    </div>
  );
}
