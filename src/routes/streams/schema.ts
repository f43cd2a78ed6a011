import Type, { type Static } from 'typebox';
import { IdParams, problems } from '../shared.schema.ts';

const EventId = Type.String({ minLength: 1, maxLength: 15, pattern: '^[0-9]+$', description: 'the `id:` of the last status event received' });

export const StreamQuery = Type.Object(
  {
    ticket: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        pattern: '^[A-Za-z0-9_.-]+$',
        description: 'a stream ticket (POST /v1/auth/stream-ticket), for clients that cannot set the Authorization header',
      }),
    ),
    last_event_id: Type.Optional(EventId),
  },
  { additionalProperties: false },
);
export type StreamQuery = Static<typeof StreamQuery>;

const ResumeHeaders = Type.Object({ 'last-event-id': Type.Optional(EventId) });

const auth = { security: [{ bearer: [] }, { streamTicket: [] }] as Record<string, string[]>[] };

const STATUS_EVENT =
  '`event: status` (with `id:`, the event\'s sequence): `{ order_id, event_id, kind ("status" | "courier_assigned" | "courier_unassigned"), from, to, courier_id, reason, at }`.';
const COMMON =
  'A `retry:` field opens the stream; comment lines (`:`) keep it alive every LIVE_HEARTBEAT_MS. Reconnecting with `Last-Event-ID` ' +
  '(the header, or `last_event_id` for clients that cannot set it) sends exactly the status events after it, once each, in order. ' +
  'A client that reads too slowly is disconnected (status events are never dropped) and resumes the same way. When the node ' +
  'shuts down it sends `retry:` and `event: reconnect` and ends the stream: reconnect, to another node. ' +
  'Authentication: the bearer header, or a stream ticket in `ticket`. Errors are answered as problems before any stream starts.';

/** A stream's success: the event stream itself, described, since its events are not a JSON body. */
const eventStream = (description: string) => ({
  description,
  content: { 'text/event-stream': { schema: Type.String({ description: 'Server-Sent Events' }) } },
});

export const TrackOrder = {
  ...auth,
  tags: ['live'],
  summary: 'Track an order live (Server-Sent Events)',
  description:
    `Who may watch is who may see the order (another's order is a 404). ${COMMON} Without Last-Event-ID, every event from the start.`,
  params: IdParams,
  querystring: StreamQuery,
  headers: ResumeHeaders,
  response: {
    200: eventStream(
      `${STATUS_EVENT} While a courier holds the order: \`event: position\` \`{ order_id, courier_id, lat, lng, at }\` at most once ` +
        'per LIVE_POSITION_INTERVAL_MS (the latest wins) and `event: eta` `{ order_id, minutes, at }` when the minutes to delivery ' +
        'change; neither has an `id:`. The stream ends after a final status (delivered, cancelled, rejected, payment_failed).',
    ),
    204: Type.Null({ description: 'The order has ended and the client has all its events: nothing more will come (an EventSource stops reconnecting)' }),
    ...problems(400, 401, 404),
  },
};

export const RestaurantStream = {
  ...auth,
  tags: ['live'],
  summary: "A restaurant's orders live (Server-Sent Events; its owner or an admin)",
  description:
    `Another owner's restaurant is a 404. ${COMMON} Without Last-Event-ID the stream starts with \`event: snapshot\` ` +
    '`{ restaurant_id, as_of_event_id, orders: [{ id, status, customer_id, courier_id, total_cents, currency, delivery_address, notes, eta_minutes, ' +
    'created_at, updated_at, items: [{ name, quantity }] }], truncated }` (the orders in progress, oldest first, at most 1,000), then the status ' +
    'events after `as_of_event_id`; an order that moved while the snapshot was taken may show its new status in both, and applying an event again changes nothing.',
  params: IdParams,
  querystring: StreamQuery,
  headers: ResumeHeaders,
  response: { 200: eventStream(`${STATUS_EVENT} for each of the restaurant's orders.`), ...problems(400, 401, 403, 404) },
};

export const OpsStream = {
  ...auth,
  tags: ['live'],
  summary: 'The whole city and the server itself, live (Server-Sent Events; admins)',
  description:
    'Once a second: `event: city` `{ at, couriers: [{ id, lat, lng, state ("available" | "offered" | "busy" | "stale"), at }], orders: ' +
    '[{ id, status, courier_id, restaurant_lat, restaurant_lng, delivery_lat, delivery_lng }], orders_truncated }` (orders in flight, at most 5,000), ' +
    'and `event: health` `{ at, requests_per_second, latency_p99_ms, requests_in_flight, event_loop: { delay_p99_ms, utilization }, db_pool: ' +
    '{ total, idle, waiting }, breakers: { <partner>: "closed" | "open" | "half_open" | "isolated" }, partner_latency_p99_ms: { <partner>: ms | null }, ' +
    'live_connections: { <kind>: n } }` ' +
    '(rates and percentiles since the previous sample; latency excludes streams). A slow reader gets the latest sample, not a backlog. ' +
    'No `id:`: there is nothing to resume.',
  querystring: StreamQuery,
  response: { 200: eventStream('`event: city` and `event: health`, once a second each.'), ...problems(400, 401, 403) },
};
