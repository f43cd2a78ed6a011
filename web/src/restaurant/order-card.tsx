import { useState } from 'preact/hooks';
import { api, messageOf } from '../shared/api.ts';
import { formatMoney, formatTime, shortId, STATUS_LABEL } from '../shared/format.ts';
import type { BoardOrder, Order, OrderStatus } from '../shared/types.ts';

/** The moves an owner may make from each status (src/domain/order-status.ts), as buttons. */
const ACTIONS: Partial<Record<OrderStatus, { path: string; label: string; danger?: boolean }[]>> = {
  placed: [
    { path: 'accept', label: 'Accept' },
    { path: 'reject', label: 'Reject', danger: true },
  ],
  confirmed: [
    { path: 'preparing', label: 'Start preparing' },
    { path: 'cancel', label: 'Cancel', danger: true },
  ],
  preparing: [
    { path: 'ready', label: 'Ready for pick-up' },
    { path: 'cancel', label: 'Cancel', danger: true },
  ],
};

export function OrderCard({ order, token, fresh, onMoved }: { order: BoardOrder; token: string; fresh: boolean; onMoved: (o: Order) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const act = async (path: string) => {
    setBusy(true);
    setError('');
    try {
      onMoved(await api<Order>(`/v1/orders/${order.id}/${path}`, { method: 'POST', token, body: {} }));
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const title = `Order ${shortId(order.id)}`;
  return (
    <article class={`order-card${fresh ? ' fresh' : ''}`} aria-label={title} data-order-id={order.id}>
      <h3>
        {title} <span class="muted">· {formatTime(order.created_at)}</span>
      </h3>
      <ul class="plain">
        {order.items.map((i) => (
          <li key={i.name}>
            {i.quantity} × {i.name}
          </li>
        ))}
      </ul>
      {order.notes && <p>Note: {order.notes}</p>}
      <p class="muted">
        {formatMoney(order.total_cents, order.currency)} · {STATUS_LABEL[order.status]}
        {order.courier_id ? ' · courier assigned' : ''}
      </p>
      <div class="row">
        {(ACTIONS[order.status] ?? []).map((a) => (
          <button key={a.path} type="button" class={a.danger ? 'danger' : ''} disabled={busy} onClick={() => act(a.path)} aria-label={`${a.label}: ${title}`}>
            {a.label}
          </button>
        ))}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </article>
  );
}
