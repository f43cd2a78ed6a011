import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, messageOf } from '../shared/api.ts';
import { formatMoney, formatTime } from '../shared/format.ts';
import type { Signed } from '../shared/session.ts';
import type { LatLng, Menu, MenuItem, Order, PlaceOrderBody, Restaurant } from '../shared/types.ts';
import { Notice } from '../shared/ui.tsx';

/** An Idempotency-Key: the same for every retry of one cart, new for the next cart. */
function newKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // randomUUID needs a secure context; a page reached over plain HTTP by a LAN address still orders.
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function Quantity({ item, count, onChange }: { item: MenuItem; count: number; onChange: (n: number) => void }) {
  return (
    <fieldset class="qty">
      <legend class="visually-hidden">Quantity of {item.name}</legend>
      <button type="button" class="quiet" onClick={() => onChange(count - 1)} disabled={count === 0} aria-label={`One less ${item.name}`}>
        −
      </button>
      <output aria-live="polite">{count}</output>
      <button type="button" class="quiet" onClick={() => onChange(count + 1)} disabled={!item.is_available || count >= 50} aria-label={`One more ${item.name}`}>
        +
      </button>
    </fieldset>
  );
}

interface MenuProps {
  signed: Signed;
  restaurant: Pick<Restaurant, 'id' | 'name'>;
  delivery: LatLng & { address: string };
  onBack: () => void;
  onOrdered: (order: Order) => void;
}

export function MenuPicker({ signed, restaurant, delivery, onBack, onOrdered }: MenuProps) {
  const [menu, setMenu] = useState<Menu | null>(null);
  const [cart, setCart] = useState<Record<string, number>>({});
  const [key, setKey] = useState(newKey);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const loadMenu = () => api<Menu>(`/v1/restaurants/${restaurant.id}/menu`).then(setMenu, (err) => setError(messageOf(err)));
  useEffect(() => void loadMenu(), [restaurant.id]);

  const change = (id: string, n: number) => {
    setCart((c) => ({ ...c, [id]: Math.max(0, n) }));
    setKey(newKey());
  };
  const lines = (menu?.items ?? []).filter((i) => (cart[i.id] ?? 0) > 0);
  const subtotal = lines.reduce((s, i) => s + i.price_cents * cart[i.id]!, 0);

  const place = async () => {
    setBusy(true);
    setError('');
    const body: PlaceOrderBody = {
      restaurant_id: restaurant.id,
      items: lines.map((i) => ({ menu_item_id: i.id, quantity: cart[i.id]!, expected_unit_price_cents: i.price_cents })),
      delivery,
    };
    try {
      onOrdered(await api<Order>('/v1/orders', { method: 'POST', token: signed.token, body, headers: { 'idempotency-key': key } }));
    } catch (err) {
      // A network failure keeps the key: trying again cannot order twice. A refusal starts a new cart.
      if (!(err instanceof ApiError && err.status === 0)) setKey(newKey());
      if (err instanceof ApiError && err.problem?.changes) {
        setError(`Prices changed since the menu was shown (${err.problem.changes.length} dish(es)); the menu now shows today’s prices.`);
        await loadMenu();
      } else setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="menu-title">
      <div class="row">
        <h2 id="menu-title">{restaurant.name}</h2>
        <button type="button" class="quiet" onClick={onBack}>
          Back to restaurants
        </button>
      </div>
      {menu?.stale && <p class="degraded">This menu was last synced {menu.synced_at ? `at ${formatTime(menu.synced_at)}` : 'never'}; prices are checked when you order.</p>}
      {menu && !menu.is_open && <p class="degraded">Closed right now.</p>}
      <ul class="plain" aria-label="Menu">
        {menu?.items.map((i) => (
          <li key={i.id} class="menu-item">
            <div>
              <strong>{i.name}</strong> {formatMoney(i.price_cents)}
              {!i.is_available && <span class="muted"> — unavailable</span>}
              <div class="muted">{i.description}</div>
            </div>
            <Quantity item={i} count={cart[i.id] ?? 0} onChange={(n) => change(i.id, n)} />
          </li>
        ))}
      </ul>
      <p aria-live="polite">
        {lines.length === 0 ? 'Your cart is empty.' : `${lines.reduce((s, i) => s + cart[i.id]!, 0)} item(s), ${formatMoney(subtotal)} before delivery.`}
      </p>
      <Notice kind="alert" text={error} />
      <button type="button" onClick={place} disabled={busy || lines.length === 0 || !delivery.address.trim() || menu?.is_open === false}>
        {busy ? 'Placing the order…' : 'Place order'}
      </button>
      {!delivery.address.trim() && <p class="hint">Enter a delivery address above to order.</p>}
    </section>
  );
}
