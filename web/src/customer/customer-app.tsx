import { useState } from 'preact/hooks';
import { DEFAULT_CENTRE } from '../shared/geo.ts';
import type { Signed } from '../shared/session.ts';
import type { LatLng, Restaurant } from '../shared/types.ts';
import { Notice } from '../shared/ui.tsx';
import { FeedList } from './feed.tsx';
import { MenuPicker } from './menu.tsx';
import { Tracking } from './tracking.tsx';

const ORDER_KEY = 'dabba.customer.order';
const PLACE_KEY = 'dabba.customer.delivery';

type Delivery = LatLng & { address: string };

/** The order being watched: in the URL (`?order=`), so a reload or a shared link resumes it, and in the tab's storage. */
function currentOrder(): string | null {
  return new URLSearchParams(location.search).get('order') ?? sessionStorage.getItem(ORDER_KEY);
}
function watch(orderId: string | null) {
  const url = new URL(location.href);
  if (orderId) {
    url.searchParams.set('order', orderId);
    sessionStorage.setItem(ORDER_KEY, orderId);
  } else {
    url.searchParams.delete('order');
    sessionStorage.removeItem(ORDER_KEY);
  }
  history.replaceState(null, '', url);
}

function savedDelivery(): Delivery {
  try {
    const saved = JSON.parse(sessionStorage.getItem(PLACE_KEY) ?? 'null') as Delivery | null;
    if (saved && Number.isFinite(saved.lat) && Number.isFinite(saved.lng)) return saved;
  } catch {
    // Not ours: start from the default.
  }
  return { ...DEFAULT_CENTRE, address: '' };
}

function DeliveryForm({ value, onChange }: { value: Delivery; onChange: (d: Delivery) => void }) {
  const [note, setNote] = useState('');
  const locate = () => {
    setNote('Asking this device where it is…');
    navigator.geolocation.getCurrentPosition(
      (p) => {
        onChange({ ...value, lat: p.coords.latitude, lng: p.coords.longitude });
        setNote('Delivering to this device’s location.');
      },
      (err) => setNote(`No location from this device (${err.message}).`),
      { timeout: 10_000 },
    );
  };
  const num = (v: string, fallback: number) => (Number.isFinite(Number.parseFloat(v)) ? Number.parseFloat(v) : fallback);
  return (
    <section class="card" aria-labelledby="delivery-title">
      <h2 id="delivery-title">Deliver to</h2>
      <div class="row">
        <label class="wide">
          Delivery address
          <input name="address" autocomplete="street-address" required value={value.address} onInput={(e) => onChange({ ...value, address: e.currentTarget.value })} />
        </label>
        <label>
          Latitude
          <input name="lat" inputMode="decimal" value={value.lat} onChange={(e) => onChange({ ...value, lat: num(e.currentTarget.value, value.lat) })} />
        </label>
        <label>
          Longitude
          <input name="lng" inputMode="decimal" value={value.lng} onChange={(e) => onChange({ ...value, lng: num(e.currentTarget.value, value.lng) })} />
        </label>
        <button type="button" class="quiet" onClick={locate}>
          Use my location
        </button>
      </div>
      <Notice text={note} />
    </section>
  );
}

export function CustomerApp({ signed, signOut }: { signed: Signed; signOut: () => void }) {
  const [orderId, setOrderId] = useState(currentOrder);
  const [restaurant, setRestaurant] = useState<Pick<Restaurant, 'id' | 'name'> | null>(null);
  const [delivery, setDelivery] = useState(savedDelivery);
  const follow = (id: string | null) => {
    watch(id);
    setOrderId(id);
    setRestaurant(null);
  };
  const moveTo = (d: Delivery) => {
    sessionStorage.setItem(PLACE_KEY, JSON.stringify(d));
    setDelivery(d);
  };

  if (orderId) return <Tracking key={orderId} signed={signed} orderId={orderId} onDone={() => follow(null)} onSignedOut={signOut} />;
  return (
    <>
      <DeliveryForm value={delivery} onChange={moveTo} />
      {restaurant ? (
        <MenuPicker signed={signed} restaurant={restaurant} delivery={delivery} onBack={() => setRestaurant(null)} onOrdered={(o) => follow(o.id)} />
      ) : (
        <FeedList at={delivery} onPick={(e) => setRestaurant(e.restaurant)} />
      )}
    </>
  );
}
