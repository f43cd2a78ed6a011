import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.types.ts';
import type { LiveFeed } from '../../live/live-streams.ts';
import { LIVE_ROUTE } from '../../plugins/live-route.ts';
import { OpsStream, RestaurantStream, type StreamQuery, TrackOrder } from './schema.ts';

/**
 * A HEAD of a stream would never end; only GET opens one. The dozen document headers are not set:
 * a response keeps every header set on it for its whole life (about 1 KiB each for 10,000 idle
 * watchers), and a stream is not a document. Its answers that are not a stream (a problem, a 204) get
 * the headers that matter for them instead.
 */
const STREAM_ROUTE = { config: { ...LIVE_ROUTE, documentHeaders: false }, exposeHeadRoute: false, onSend: answerHeaders } as const;

const ANSWER_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

async function answerHeaders(_req: FastifyRequest, reply: FastifyReply, payload: unknown) {
  reply.headers(ANSWER_HEADERS);
  return payload;
}

/** Last-Event-ID: the header a reconnecting EventSource sends, or the query parameter for clients that cannot. */
function resumeAfter(req: FastifyRequest<{ Querystring: StreamQuery }>) {
  const id = req.headers['last-event-id'] ?? req.query.last_event_id;
  return typeof id === 'string' ? Number(id) : undefined;
}

export default async function streamRoutes(app: App) {
  const { tracking, streams } = app.services;
  const serve = (reply: FastifyReply, feed: LiveFeed | undefined) => (feed ? streams.serve(reply, feed) : reply.code(204).send(null));

  app.get('/v1/orders/:id/track', { schema: TrackOrder, onRequest: app.requireStreamRole(), ...STREAM_ROUTE }, async (req, reply) =>
    serve(reply, await tracking.order(req.user, req.params.id, resumeAfter(req))),
  );

  app.get(
    '/v1/restaurants/:id/orders/stream',
    { schema: RestaurantStream, onRequest: app.requireStreamRole('restaurant', 'admin'), ...STREAM_ROUTE },
    async (req, reply) => serve(reply, await tracking.restaurant(req.user, req.params.id, resumeAfter(req))),
  );

  app.get('/v1/ops/stream', { schema: OpsStream, onRequest: app.requireStreamRole('admin'), ...STREAM_ROUTE }, async (_req, reply) =>
    serve(reply, tracking.city()),
  );
}
