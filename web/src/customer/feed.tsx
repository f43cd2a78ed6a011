import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../shared/api.ts';
import { formatMoney, formatTime } from '../shared/format.ts';
import type { Feed, FeedEntry, LatLng } from '../shared/types.ts';
import { Notice } from '../shared/ui.tsx';

/** What is missing or old about an entry, in words: the feed marks a partner that failed instead of failing. */
function degradation(e: FeedEntry): string[] {
  const notes: string[] = [];
  if (e.menu === null) notes.push(`Live menu unavailable${e.menu_error ? ` (${e.menu_error})` : ''}.`);
  else if (e.menu.stale) notes.push(`Menu as of ${formatTime(e.menu.as_of)}: the live menu did not answer in time.`);
  if (e.eta_minutes === null) notes.push(`Delivery time unknown${e.eta_error ? ` (${e.eta_error})` : ''}.`);
  return notes;
}

export function FeedList({ at, onPick }: { at: LatLng; onPick: (entry: FeedEntry) => void }) {
  const [feed, setFeed] = useState<Feed | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);
  const load = () => {
    setLoading(true);
    setError('');
    api<Feed>(`/v1/feed?lat=${at.lat}&lng=${at.lng}`)
      .then(setFeed, (err) => setError(messageOf(err)))
      .finally(() => setLoading(false));
  };
  useEffect(load, [at.lat, at.lng]);

  return (
    <section class="card" aria-labelledby="feed-title" aria-busy={loading}>
      <div class="row">
        <h2 id="feed-title">Restaurants near you</h2>
        <button type="button" class="quiet" onClick={load} disabled={loading}>
          {loading ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      {error && <Notice kind="alert" text={error} />}
      {feed?.partial && (
        <p class="degraded" role="note">
          Some restaurants’ live menus or delivery times did not arrive in time; they are marked below.
        </p>
      )}
      {feed && feed.items.length === 0 && <p>No open restaurant delivers here right now.</p>}
      <ul class="plain" aria-label="Restaurants">
        {feed?.items.map((e) => (
          <li key={e.restaurant.id}>
            <h3>{e.restaurant.name}</h3>
            <p class="muted">
              {e.restaurant.cuisine} · {e.restaurant.distance_km.toFixed(1)} km
              {e.eta_minutes !== null && ` · about ${e.eta_minutes} min`}
            </p>
            {e.menu && e.menu.highlights.length > 0 && (
              <p>
                {e.menu.highlights.map((h) => `${h.name} ${formatMoney(h.price_cents)}`).join(' · ')}
              </p>
            )}
            {degradation(e).map((note) => (
              <p key={note} class="degraded">
                {note}
              </p>
            ))}
            <button type="button" onClick={() => onPick(e)}>
              Order from {e.restaurant.name}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
