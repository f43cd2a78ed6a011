/** What the load generators send: a feed near the centre, or an order with its own Idempotency-Key. */
import { randomUUID } from 'node:crypto';

export interface LoadJob {
  url: string;
  kind: 'feed' | 'order';
  connections: number;
  durationS: number;
  /** Open loop: a fixed offered rate, latencies measured from each request's scheduled start. */
  overallRate?: number;
  token?: string;
  /** For orders: what a request may contain (each request picks one and gets its own Idempotency-Key). */
  menu?: { restaurant_id: string; menu_item_id: string }[];
  center: { lat: number; lng: number };
}

export interface LoadResult {
  ok: number;
  duration_s: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  errors: Record<string, number>;
  status_counts: Record<string, number>;
  /** This load process's own CPU time, for the report's CPU shares. */
  cpu_ms: number;
}

/**
 * A feed that answered 200 without some of its restaurants' menus or ETAs (`partial: true`: a partner
 * failed, was too slow, or its bulkhead was full). It is a degraded answer, not goodput: the runners
 * count it under `partial` beside the errors, not as a success.
 */
export const isPartial = (body: string) => body.includes('"partial":true');

export interface OutgoingRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function jitter(center: { lat: number; lng: number }) {
  return { lat: center.lat + (Math.random() - 0.5) * 0.02, lng: center.lng + (Math.random() - 0.5) * 0.02 };
}

export function nextRequest(job: LoadJob): OutgoingRequest {
  const at = jitter(job.center);
  if (job.kind === 'feed') return { method: 'GET', path: `/v1/feed?lat=${at.lat.toFixed(5)}&lng=${at.lng.toFixed(5)}`, headers: {} };
  const pick = job.menu![Math.floor(Math.random() * job.menu!.length)]!;
  return {
    method: 'POST',
    path: '/v1/orders',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${job.token}`, 'idempotency-key': randomUUID() },
    body: JSON.stringify({
      restaurant_id: pick.restaurant_id,
      items: [{ menu_item_id: pick.menu_item_id, quantity: 1 }],
      delivery: { ...at, address: 'Bench Road, Mumbai' },
    }),
  };
}
