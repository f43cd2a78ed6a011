/**
 * The orders waiting for a courier in each zone this node leads, as of the zone's last round: what the
 * pool-size and overdue gauges read, and which orders have already raised their one overdue alert.
 */
export class DispatchPool {
  readonly #alertAfterMs: number;
  readonly #zones = new Map<string, { since: Map<string, number> }>();
  /** Per zone, the orders whose overdue alert was raised: an order alerts once, not once per round. */
  readonly #alerted = new Map<string, Set<string>>();

  constructor(alertAfterMs: number) {
    this.#alertAfterMs = alertAfterMs;
  }

  /** Records the zone's waiting orders; returns those that just became overdue (to alert on, once). */
  observe(zone: string, orders: readonly { id: string; waitingSinceMs: number }[], nowMs: number) {
    const since = new Map(orders.map((o) => [o.id, o.waitingSinceMs]));
    this.#zones.set(zone, { since });
    const before = this.#alerted.get(zone) ?? new Set<string>();
    const alerted = new Set<string>();
    const overdue: { id: string; waitingMs: number }[] = [];
    for (const o of orders) {
      const waitingMs = nowMs - o.waitingSinceMs;
      if (waitingMs < this.#alertAfterMs) continue;
      alerted.add(o.id);
      if (!before.has(o.id)) overdue.push({ id: o.id, waitingMs });
    }
    this.#alerted.set(zone, alerted);
    return overdue;
  }

  forget(zone: string) {
    this.#zones.delete(zone);
    this.#alerted.delete(zone);
  }

  /** Waiting and overdue orders per zone, at the time of asking. */
  snapshot(nowMs = Date.now()) {
    return [...this.#zones].map(([zone, { since }]) => {
      let overdue = 0;
      for (const s of since.values()) if (nowMs - s >= this.#alertAfterMs) overdue++;
      return { zone, waiting: since.size, overdue };
    });
  }
}
