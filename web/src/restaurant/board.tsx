import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../shared/api.ts';
import { shortId } from '../shared/format.ts';
import type { Signed } from '../shared/session.ts';
import type { BoardOrder, OrderStatus, Restaurant } from '../shared/types.ts';
import { LinkBadge, Notice } from '../shared/ui.tsx';
import { Chime } from './chime.ts';
import { downloadOrderHistory } from './export.ts';
import { OrderCard } from './order-card.tsx';
import { useBoard } from './use-board.ts';

const LANES: { status: OrderStatus; title: string }[] = [
  { status: 'placed', title: 'New' },
  { status: 'confirmed', title: 'Accepted' },
  { status: 'preparing', title: 'Preparing' },
  { status: 'ready', title: 'Waiting for a courier' },
];
const CHOSEN_KEY = 'dabba.restaurant.chosen';

function Lanes({ signed, restaurant, onSignedOut }: { signed: Signed; restaurant: Restaurant; onSignedOut: () => void }) {
  const chime = useRef(new Chime());
  const [sound, setSound] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const [exportNote, setExportNote] = useState('');
  const arrived = (o: BoardOrder) => {
    chime.current.play();
    const count = o.items.reduce((n, i) => n + i.quantity, 0);
    setAnnouncement(`New order ${shortId(o.id)}: ${count} item(s).`);
  };
  const board = useBoard(signed.token, restaurant.id, arrived, onSignedOut);
  const toggleSound = (on: boolean) => {
    if (on) chime.current.enable();
    else chime.current.disable();
    setSound(on);
  };
  const download = async () => {
    setExportNote('Preparing the download…');
    try {
      await downloadOrderHistory(signed.token, restaurant);
      setExportNote('Order history downloaded.');
    } catch (err) {
      setExportNote(`No download: ${messageOf(err)}`);
    }
  };
  const recent = new Set(board.arrivals.slice(-3));
  return (
    <>
      <div class="row card">
        <LinkBadge state={board.link} label="Orders" />
        <label class="inline">
          <input type="checkbox" checked={sound} onChange={(e) => toggleSound(e.currentTarget.checked)} />
          Chime on new orders
        </label>
        <button type="button" class="quiet" onClick={download}>
          Download order history (CSV)
        </button>
      </div>
      <Notice text={announcement} />
      <Notice text={exportNote} />
      <div class="columns">
        {LANES.map((lane) => {
          const orders = [...board.orders.values()].filter((o) => o.status === lane.status).sort((a, b) => a.created_at.localeCompare(b.created_at));
          return (
            <section key={lane.status} class="lane" aria-labelledby={`lane-${lane.status}`}>
              <h2 id={`lane-${lane.status}`}>
                {lane.title} <span class="count">({orders.length})</span>
              </h2>
              {orders.map((o) => (
                <OrderCard key={o.id} order={o} token={signed.token} fresh={recent.has(o.id)} onMoved={board.update} />
              ))}
              {orders.length === 0 && <p class="muted">None</p>}
            </section>
          );
        })}
      </div>
    </>
  );
}

export function RestaurantBoard({ signed, signOut }: { signed: Signed; signOut: () => void }) {
  const [mine, setMine] = useState<Restaurant[] | null>(null);
  const [chosen, setChosen] = useState(() => sessionStorage.getItem(CHOSEN_KEY) ?? '');
  const [error, setError] = useState('');
  useEffect(() => {
    api<{ items: Restaurant[] }>('/v1/restaurants/mine', { token: signed.token }).then(
      (r) => setMine(r.items),
      (err) => setError(messageOf(err)),
    );
  }, [signed.token]);
  const restaurant = mine?.find((r) => r.id === chosen) ?? mine?.[0];
  const choose = (id: string) => {
    sessionStorage.setItem(CHOSEN_KEY, id);
    setChosen(id);
  };
  const setOpen = async (isOpen: boolean) => {
    if (!restaurant) return;
    try {
      const updated = await api<Restaurant>(`/v1/restaurants/${restaurant.id}`, { method: 'PATCH', token: signed.token, body: { is_open: isOpen } });
      setMine((list) => list?.map((r) => (r.id === updated.id ? updated : r)) ?? null);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  if (error) return <Notice kind="alert" text={error} />;
  if (!mine) return <p>Loading your restaurants…</p>;
  if (!restaurant) return <p>This account owns no restaurant yet.</p>;
  return (
    <>
      <div class="row">
        {mine.length > 1 && (
          <label>
            Restaurant
            <select value={restaurant.id} onChange={(e) => choose(e.currentTarget.value)}>
              {mine.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <label class="inline">
          <input type="checkbox" checked={restaurant.is_open} onChange={(e) => setOpen(e.currentTarget.checked)} />
          Open for orders
        </label>
      </div>
      <h2>{restaurant.name}</h2>
      <Lanes key={restaurant.id} signed={signed} restaurant={restaurant} onSignedOut={signOut} />
    </>
  );
}
