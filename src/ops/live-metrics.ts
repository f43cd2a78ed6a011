import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the live parts report at scrape time; set once they exist. */
export interface LiveSources {
  /** Open live connections by kind: `order_track`, `restaurant_stream`, `ops_stream`, `courier_socket`. */
  connections?: () => Record<string, number>;
  /** Orders waiting for a courier, per zone this node leads. */
  dispatchPool?: () => { zone: string; waiting: number; overdue: number }[];
  /** Couriers this node knows of, by state: `available`, `busy`, `offered`, `stale`. */
  couriers?: () => Record<string, number>;
  /** The largest outgoing buffer per connection kind since the last call, which starts a new period. */
  bufferHighWater?: () => Record<string, number>;
}

/** The metrics of couriers, dispatch and the live streams (see metrics.ts for the conventions). */
export function createLiveMetrics(registry: Registry) {
  const registers = [registry];
  const sources: LiveSources = {};
  new Gauge({
    name: 'dabba_live_connections',
    help: 'Open live connections on this node by kind (order_track, restaurant_stream, ops_stream, courier_socket)',
    labelNames: ['kind'] as const,
    registers,
    collect() {
      for (const [kind, n] of Object.entries(sources.connections?.() ?? {})) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: 'dabba_dispatch_waiting_orders',
    help: 'Orders waiting for a courier per zone this node dispatches',
    labelNames: ['zone'] as const,
    registers,
    collect() {
      this.reset();
      for (const z of sources.dispatchPool?.() ?? []) this.set({ zone: z.zone }, z.waiting);
    },
  });
  new Gauge({
    name: 'dabba_dispatch_overdue_orders',
    help: 'Orders waiting for a courier longer than DISPATCH_ALERT_AFTER_MS per zone this node dispatches (alert when above 0)',
    labelNames: ['zone'] as const,
    registers,
    collect() {
      this.reset();
      for (const z of sources.dispatchPool?.() ?? []) this.set({ zone: z.zone }, z.overdue);
    },
  });
  new Gauge({
    name: 'dabba_couriers',
    help: 'Couriers on shift known to this node, by state (available, offered, busy, stale)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      for (const [state, n] of Object.entries(sources.couriers?.() ?? {})) this.set({ state }, n);
    },
  });
  return {
    liveSources: sources,
    liveMessagesSent: new Counter({
      name: 'dabba_live_messages_sent_total',
      help: 'Messages written to live connections, by connection kind and message type',
      labelNames: ['kind', 'type'] as const,
      registers,
    }),
    liveMessagesDropped: new Counter({
      name: 'dabba_live_messages_dropped_total',
      help: 'Messages not delivered, by reason: coalesced (a newer position replaced it), slow_consumer (the connection was cut), invalid (a malformed client message)',
      labelNames: ['kind', 'reason'] as const,
      registers,
    }),
    liveDisconnects: new Counter({
      name: 'dabba_live_disconnects_total',
      help: 'Live connections the server ended, by kind and reason (final_status, slow_consumer, shutdown, auth, error)',
      labelNames: ['kind', 'reason'] as const,
      registers,
    }),
    liveBufferHighWater: new Gauge({
      name: 'dabba_live_buffer_high_water_bytes',
      help: 'Largest outgoing buffer any live connection of the kind has queued since the last scrape',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        for (const [kind, bytes] of Object.entries(sources.bufferHighWater?.() ?? {})) this.set({ kind }, bytes);
      },
    }),
    courierPositions: new Counter({
      name: 'dabba_courier_positions_total',
      help: 'Courier position fixes by outcome: accepted, coalesced (over the rate cap; the latest wins), glitch (faster than COURIER_MAX_SPEED_KMH), invalid',
      labelNames: ['outcome'] as const,
      registers,
    }),
    dispatchSolveSeconds: new Histogram({
      name: 'dabba_dispatch_solve_duration_seconds',
      help: 'One zone batch solved in the worker pool (cost matrix and assignment)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    dispatchOffers: new Counter({
      name: 'dabba_dispatch_offers_total',
      help: 'Offers made to couriers, by outcome: made, assigned, declined, expired, withdrawn',
      labelNames: ['outcome'] as const,
      registers,
    }),
    dispatchLeadership: new Counter({
      name: 'dabba_dispatch_leadership_changes_total',
      help: 'Zones this node began (acquired) or stopped (released, lost) dispatching',
      labelNames: ['change'] as const,
      registers,
    }),
  };
}
