/** The last message a paced stream sent: its source's timestamp, and when it was sent. */
export interface Sent {
  at: number;
  sentAt: number;
}

/**
 * How long a courier position must wait to keep a stream at about one per `intervalMs`: 0 means send
 * now. Spacing is judged by the positions' own timestamps (the courier's clock), with a tenth of the
 * interval forgiven, and the network's only by a floor of half an interval. Judged by arrival alone, a
 * phone reporting once a second meets a limiter of the same interval: after one hiccup delivers two
 * fixes close together, the second is held, the hold moves the schedule, and from then on every fix
 * waits behind it — positions a good part of a second stale for as long as the courier keeps reporting.
 * A flood (timestamps closer than the interval) is still held to one per interval of arrival.
 */
export function paceWait(last: Sent | undefined, at: number, intervalMs: number, now: number): number {
  if (!last) return 0;
  const spacedAtSource = at - last.at >= intervalMs * 0.9;
  const due = last.sentAt + (spacedAtSource ? intervalMs / 2 : intervalMs);
  return Math.max(0, due - now);
}
