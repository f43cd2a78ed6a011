import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app.types.ts';
import type { LiveFeed } from '../../live/live-streams.ts';
import { LIVE_ROUTE } from '../../plugins/live-route.ts';
import { OpsStream, RestaurantStream, type StreamQuery, TrackOrder } from './schema.ts';

/** A HEAD of a stream would never end; only GET opens one. */
const GET_ONLY = { exposeHeadRoute: false };

/** Last-Event-ID: the header a reconnecting EventSource sends, or the query parameter for clients that cannot. */
function resumeAfter(req: FastifyRequest<{ Querystring: StreamQuery }>) {
  const id = req.headers['last-event-id'] ?? req.query.last_event_id;
  return typeof id === 'string' ? Number(id) : undefined;
}

export default async function streamRoutes(app: App) {
  const { tracking, streams } = app.services;
  const serve = (reply: FastifyReply, feed: LiveFeed | undefined) => (feed ? streams.serve(reply, feed) : reply.code(204).send(null));

  app.get('/v1/orders/:id/track', { schema: TrackOrder, onRequest: app.requireStreamRole(), config: LIVE_ROUTE, ...GET_ONLY }, async (req, reply) =>
    serve(reply, await tracking.order(req.user, req.params.id, resumeAfter(req))),
  );

  app.get(
    '/v1/restaurants/:id/orders/stream',
    { schema: RestaurantStream, onRequest: app.requireStreamRole('restaurant', 'admin'), config: LIVE_ROUTE, ...GET_ONLY },
    async (req, reply) => serve(reply, await tracking.restaurant(req.user, req.params.id, resumeAfter(req))),
  );

  app.get('/v1/ops/stream', { schema: OpsStream, onRequest: app.requireStreamRole('admin'), config: LIVE_ROUTE, ...GET_ONLY }, async (_req, reply) =>
    serve(reply, tracking.city()),
  );
}
