import type { OrderEvent } from '../db/repositories/order-events.repository.ts';
import { sseFrame } from './sse-connection.ts';

/** Frames of events read once for every watcher of the order on the node (SharedOrderReads hands them the same objects). */
const frames = new WeakMap<OrderEvent, Buffer>();

/** An order's recorded move as the streams send it: `event: status`, its id the event's, so Last-Event-ID resumes after it. */
export function statusFrame(e: OrderEvent): Buffer {
  const cached = frames.get(e);
  if (cached) return cached;
  const data = {
    order_id: e.order_id,
    event_id: e.id,
    kind: e.kind,
    from: e.from_status,
    to: e.to_status,
    courier_id: e.courier_id,
    reason: e.reason,
    at: new Date(e.created_at).toISOString(),
  };
  const frame = Buffer.from(sseFrame('status', data, e.id));
  frames.set(e, frame);
  return frame;
}
