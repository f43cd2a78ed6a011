const COUNTS = [
  'placed',
  'held_back',
  'refused',
  'delivered',
  'rejected',
  'payment_failed',
  'cancelled',
  'offers_received',
  'offers_accepted',
  'offers_declined',
  'offers_assigned',
  'offers_expired',
  'offers_withdrawn',
  'kitchen_accepted',
  'kitchen_rejected',
  'kitchen_preparing',
  'kitchen_ready',
  'couriers_on_shift',
  'picked_up',
  'dropped_off',
  'positions_sent',
  'positions_refused',
  'requests',
  'socket_messages',
  'retried',
] as const;
export type Count = (typeof COUNTS)[number];

/** What the city's clients saw, counted as it happens; every part of the simulation adds to one. */
export class Tally {
  readonly #counts = new Map<Count, number>(COUNTS.map((c) => [c, 0]));
  readonly #errors = new Map<string, number>();
  /** Real milliseconds from an order's creation to its delivery, as the server timed both. */
  readonly deliveryMs: number[] = [];
  readonly #startedAt = Date.now();

  add(name: Count, n = 1) {
    this.#counts.set(name, this.get(name) + n);
  }

  get(name: Count) {
    return this.#counts.get(name) ?? 0;
  }

  /** Something a healthy API and city would not have produced, by kind (`place order: 503`, `socket: glitch`). */
  error(kind: string) {
    this.#errors.set(kind, (this.#errors.get(kind) ?? 0) + 1);
  }

  get errorCount() {
    let n = 0;
    for (const v of this.#errors.values()) n += v;
    return n;
  }

  get inFlight() {
    return this.get('placed') - this.get('delivered') - this.get('rejected') - this.get('payment_failed') - this.get('cancelled');
  }

  errorsByKind() {
    return Object.fromEntries([...this.#errors].sort(([, a], [, b]) => b - a));
  }

  elapsedMs() {
    return Date.now() - this.#startedAt;
  }
}

/** Nearest-rank percentile of real milliseconds, in seconds with one decimal; null for no samples. */
function percentileS(sorted: number[], p: number) {
  if (sorted.length === 0) return null;
  const ms = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return Math.round(ms / 100) / 10;
}

const cityMinutes = (seconds: number | null, timeScale: number) => (seconds === null ? null : Math.round((seconds * timeScale) / 6) / 10);

export function cityReport(tally: Tally, run: { timeScale: number; ordersPerMinute: number; seed: number }) {
  const c = (name: Count) => tally.get(name);
  const sorted = [...tally.deliveryMs].sort((a, b) => a - b);
  const median = percentileS(sorted, 50);
  const p90 = percentileS(sorted, 90);
  const requests = c('requests') + c('socket_messages');
  const errors = tally.errorCount;
  return {
    seconds: Math.round(tally.elapsedMs() / 100) / 10,
    time_scale: run.timeScale,
    orders_per_minute: run.ordersPerMinute,
    seed: run.seed,
    orders: {
      placed: c('placed'),
      delivered: c('delivered'),
      rejected: c('rejected'),
      payment_failed: c('payment_failed'),
      cancelled: c('cancelled'),
      in_flight: tally.inFlight,
      held_back: c('held_back'),
      refused: c('refused'),
    },
    time_to_delivery: {
      median_s: median,
      p90_s: p90,
      median_city_min: cityMinutes(median, run.timeScale),
      p90_city_min: cityMinutes(p90, run.timeScale),
    },
    offers: {
      received: c('offers_received'),
      accepted: c('offers_accepted'),
      declined: c('offers_declined'),
      assigned: c('offers_assigned'),
      expired: c('offers_expired'),
      withdrawn: c('offers_withdrawn'),
    },
    kitchens: { accepted: c('kitchen_accepted'), rejected: c('kitchen_rejected'), preparing: c('kitchen_preparing'), ready: c('kitchen_ready') },
    couriers: {
      on_shift: c('couriers_on_shift'),
      picked_up: c('picked_up'),
      delivered: c('dropped_off'),
      positions_sent: c('positions_sent'),
      positions_refused: c('positions_refused'),
    },
    requests,
    retried: c('retried'),
    errors: { total: errors, rate: requests === 0 ? 0 : Math.round((errors / requests) * 10_000) / 10_000, by_kind: tally.errorsByKind() },
  };
}
export type CityReport = ReturnType<typeof cityReport>;

/** Why the run failed (errors over the threshold), or undefined. */
export function verdict(report: CityReport, maxErrorRate: number) {
  if (report.errors.rate <= maxErrorRate) return undefined;
  return `${report.errors.total} errors in ${report.requests} requests (${(report.errors.rate * 100).toFixed(2)}%) is over the limit of ${(maxErrorRate * 100).toFixed(2)}%`;
}

/** One line for the terminal while the city runs. */
export function progressLine(tally: Tally) {
  const s = Math.round(tally.elapsedMs() / 1000);
  return `city ${s}s: ${tally.get('placed')} placed, ${tally.get('delivered')} delivered, ${tally.inFlight} in flight, ${tally.get('couriers_on_shift')} couriers on shift, ${tally.errorCount} errors`;
}

const time = (s: number | null, min: number | null) => (s === null ? '–' : `${s} s (${min} city min)`);

/** The report as a Markdown table, for people. */
export function reportTable(r: CityReport) {
  const rows: [string, string | number][] = [
    ['orders placed', r.orders.placed],
    ['delivered', r.orders.delivered],
    ['rejected', r.orders.rejected],
    ['payment failed', r.orders.payment_failed],
    ['cancelled', r.orders.cancelled],
    ['still in flight', r.orders.in_flight],
    ['held back (in-flight cap)', r.orders.held_back],
    ['refused at checkout', r.orders.refused],
    ['time to delivery, median', time(r.time_to_delivery.median_s, r.time_to_delivery.median_city_min)],
    ['time to delivery, p90', time(r.time_to_delivery.p90_s, r.time_to_delivery.p90_city_min)],
    ['offers received', r.offers.received],
    ['offers accepted / declined', `${r.offers.accepted} / ${r.offers.declined}`],
    ['offers assigned / expired / withdrawn', `${r.offers.assigned} / ${r.offers.expired} / ${r.offers.withdrawn}`],
    ['kitchens accepted / rejected', `${r.kitchens.accepted} / ${r.kitchens.rejected}`],
    ['couriers on shift', r.couriers.on_shift],
    ['picked up / delivered by couriers', `${r.couriers.picked_up} / ${r.couriers.delivered}`],
    ['positions sent / refused', `${r.couriers.positions_sent} / ${r.couriers.positions_refused}`],
    ['requests and socket messages', r.requests],
    ['asked again after 429 / 503', r.retried],
    ['errors', `${r.errors.total} (${(r.errors.rate * 100).toFixed(2)}%)`],
    ...Object.entries(r.errors.by_kind).map(([kind, n]): [string, number] => [`  ${kind}`, n]),
  ];
  const title = `demo city: ${r.seconds} s at ×${r.time_scale}, ${r.orders_per_minute} orders/min, seed ${r.seed}`;
  return [`| ${title} | |`, '| --- | ---: |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}
