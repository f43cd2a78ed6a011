import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf } from '../shared/api.ts';
import { STATUS_LABEL, shortId } from '../shared/format.ts';
import { type LinkState, openCourierSocket, openStream } from '../shared/live.ts';
import type { Signed } from '../shared/session.ts';
import type { ClientMessage, LatLng, Offer, Order, OrderStatus, Restaurant, ServerMessage, StatusEvent } from '../shared/types.ts';

/** The order this courier carries: where to collect it, where to bring it, and how far it has come. */
export interface Job {
  orderId: string;
  pickup: LatLng & { name: string };
  dropoff: LatLng & { address: string };
  status: OrderStatus;
}

const CARRYING: OrderStatus[] = ['confirmed', 'preparing', 'ready', 'picked_up'];

/** After a reload: the order this courier still holds, if any (the newest first). */
async function heldJob(signed: Signed): Promise<Job | null> {
  const { items } = await api<{ items: Order[] }>('/v1/orders?limit=20', { token: signed.token });
  const o = items.find((x) => x.courier_id === signed.user.id && CARRYING.includes(x.status));
  if (!o) return null;
  const r = await api<Restaurant>(`/v1/restaurants/${o.restaurant_id}`);
  return {
    orderId: o.id,
    pickup: { lat: r.lat, lng: r.lng, name: r.name },
    dropoff: { lat: o.delivery_lat, lng: o.delivery_lng, address: o.delivery_address },
    status: o.status,
  };
}

/**
 * The courier's side of dabba: the socket (shift, offers, moves), the order in hand and its status
 * (from the order's track stream, which says when the food is ready), and a line of news for the page.
 */
export function useCourier(signed: Signed, onSignedOut: () => void) {
  const [link, setLink] = useState<LinkState>('connecting');
  const [onShift, setOnShift] = useState(false);
  const [offer, setOffer] = useState<Offer | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [news, setNews] = useState('');
  const socket = useRef<ReturnType<typeof openCourierSocket> | null>(null);
  const offerRef = useRef<Offer | null>(null);
  const signedOut = useRef(onSignedOut);
  signedOut.current = onSignedOut;

  useEffect(() => {
    heldJob(signed).then((j) => j && setJob((current) => current ?? j), () => undefined);
    const handle = (m: ServerMessage) => {
      switch (m.type) {
        case 'hello':
        case 'shift':
          setOnShift(m.on_shift);
          break;
        case 'offer':
          offerRef.current = m;
          setOffer(m);
          setNews(`New offer: pick up at ${m.pickup.name}, ${m.pickup_km.toFixed(1)} km away.`);
          break;
        case 'offer_closed': {
          const o = offerRef.current;
          offerRef.current = null;
          setOffer(null);
          if (m.outcome === 'assigned' && o?.offer_id === m.offer_id) {
            setJob({ orderId: o.order_id, pickup: o.pickup, dropoff: o.dropoff, status: 'confirmed' });
            setNews(`Order ${shortId(o.order_id)} is yours: head to ${o.pickup.name}.`);
          } else setNews(`Offer ${m.outcome}.`);
          break;
        }
        case 'moved':
          setJob((j) => (j && j.orderId === m.order.id ? { ...j, status: m.order.status } : j));
          setNews(`Order ${shortId(m.order.id)}: ${STATUS_LABEL[m.order.status]}.`);
          break;
        case 'error':
          setNews(`Refused: ${m.detail}`);
          break;
        default:
          break;
      }
    };
    socket.current = openCourierSocket({
      token: signed.token,
      onMessage: handle,
      onState: (s) => {
        setLink(s);
        if (s === 'signed-out') signedOut.current();
      },
    });
    return () => socket.current?.close();
  }, [signed]);

  // The order's own stream tells the courier when the food is ready (and if the order is cancelled).
  const jobId = job?.orderId;
  useEffect(() => {
    if (!jobId) return;
    let final = false;
    const stream = openStream({
      path: `/v1/orders/${jobId}/track`,
      token: signed.token,
      on: {
        status: (data) => {
          const e = data as StatusEvent;
          if (e.kind !== 'status') return;
          final = ['delivered', 'cancelled', 'rejected', 'payment_failed'].includes(e.to);
          setJob((j) => (j && j.orderId === e.order_id ? { ...j, status: e.to } : j));
        },
      },
      finished: () => final,
    });
    return () => stream.close();
  }, [jobId, signed.token]);

  // Stable, so a page's timers that send do not restart with every render.
  const send = useCallback((m: ClientMessage) => socket.current?.send(m) ?? false, []);
  const setShift = async (online: boolean, at: LatLng | null) => {
    try {
      const body = online && at ? { online, lat: at.lat, lng: at.lng } : { online };
      const res = await api<{ on_shift: boolean }>('/v1/courier/shift', { method: 'POST', token: signed.token, body });
      setOnShift(res.on_shift);
      setNews(res.on_shift ? 'On shift: offers will come here.' : 'Off shift.');
    } catch (err) {
      setNews(messageOf(err));
    }
  };
  const answer = (accept: boolean) => {
    if (!offer) return;
    if (!send({ type: accept ? 'accept' : 'decline', offer_id: offer.offer_id })) setNews('Not connected: try again in a moment.');
  };
  const move = (to: 'picked_up' | 'delivered') => {
    if (!job) return;
    if (!send({ type: 'move', order_id: job.orderId, to })) setNews('Not connected: try again in a moment.');
  };
  const finishJob = () => setJob(null);
  return { link, onShift, offer, job, news, setNews, send, setShift, answer, move, finishJob };
}
