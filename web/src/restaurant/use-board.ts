import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../shared/api.ts';
import { type LinkState, openStream } from '../shared/live.ts';
import type { BoardOrder, Order, OrderStatus, RestaurantSnapshot, StatusEvent } from '../shared/types.ts';

const toBoard = (o: Order): BoardOrder => ({
  id: o.id,
  status: o.status,
  customer_id: o.customer_id,
  courier_id: o.courier_id,
  total_cents: o.total_cents,
  currency: o.currency,
  delivery_address: o.delivery_address,
  notes: o.notes,
  eta_minutes: o.eta_minutes,
  created_at: String(o.created_at),
  items: o.items.map((i) => ({ name: i.name, quantity: i.quantity })),
});

export interface BoardState {
  orders: Map<string, BoardOrder>;
  /** Orders that arrived since the board opened, newest last: each flashes once. */
  arrivals: string[];
  link: LinkState;
}

/**
 * A restaurant's orders, live: the stream's snapshot of the orders in progress, then every status
 * event. An order first heard of through an event is read once for its details; events that come
 * while that read is out still win, as they are the newer news.
 */
export function useBoard(token: string, restaurantId: string, onArrival: (order: BoardOrder) => void, onSignedOut: () => void) {
  const [state, setState] = useState<BoardState>({ orders: new Map(), arrivals: [], link: 'connecting' });
  const callbacks = useRef({ onArrival, onSignedOut });
  callbacks.current = { onArrival, onSignedOut };

  useEffect(() => {
    setState({ orders: new Map(), arrivals: [], link: 'connecting' });
    const latest = new Map<string, OrderStatus>();
    const asked = new Set<string>();
    const put = (o: BoardOrder) => setState((s) => ({ ...s, orders: new Map(s.orders).set(o.id, o) }));

    const arrive = async (id: string) => {
      asked.add(id);
      const order = toBoard(await api<Order>(`/v1/orders/${id}`, { token }));
      order.status = latest.get(id) ?? order.status;
      put(order);
      // An order that moved on before the board heard of it is news, not an arrival.
      if (order.status !== 'placed' && order.status !== 'confirmed') return;
      setState((s) => ({ ...s, arrivals: [...s.arrivals.slice(-20), id] }));
      callbacks.current.onArrival(order);
    };

    const stream = openStream({
      path: `/v1/restaurants/${restaurantId}/orders/stream`,
      token,
      on: {
        snapshot: (data) => {
          const snap = data as RestaurantSnapshot;
          for (const o of snap.orders) asked.add(o.id);
          setState((s) => ({ ...s, orders: new Map(snap.orders.map((o) => [o.id, o])) }));
        },
        status: (data) => {
          const e = data as StatusEvent;
          if (e.kind !== 'status') return;
          latest.set(e.order_id, e.to);
          setState((s) => {
            const known = s.orders.get(e.order_id);
            return known ? { ...s, orders: new Map(s.orders).set(e.order_id, { ...known, status: e.to }) } : s;
          });
          if (!asked.has(e.order_id)) arrive(e.order_id).catch(() => asked.delete(e.order_id));
        },
      },
      onState: (link) => {
        setState((s) => ({ ...s, link }));
        if (link === 'signed-out') callbacks.current.onSignedOut();
      },
    });
    return () => stream.close();
  }, [token, restaurantId]);

  /** What an action's answer says, shown before its event arrives. */
  const update = (o: Order) => setState((s) => ({ ...s, orders: new Map(s.orders).set(o.id, toBoard(o)) }));
  return { ...state, update };
}
