import type { App } from '../../app.types.ts';
import { AppError } from '../../errors.ts';
import { COURIER_STREAM_PATH, asyncApiDocument } from '../../live/asyncapi.ts';
import { ReportLocation, SetShift, Stream, StreamTicket } from './schema.ts';

const upgradeRequired = () =>
  new AppError(426, 'upgrade-required', 'Upgrade required', 'This is a WebSocket: open it with an upgrade request. Its messages are described at /asyncapi.json.');

export default async function courierRoutes(app: App) {
  const couriers = app.services.couriers;
  const courierOnly = app.requireRole('courier');

  app.post('/v1/courier/shift', { schema: SetShift, onRequest: courierOnly }, async (req) => couriers.setShift(req.user, req.body));

  app.post('/v1/courier/location', { schema: ReportLocation, onRequest: courierOnly }, async (req) =>
    couriers.reportLocation(req.user, req.body),
  );

  app.post('/v1/courier/stream-ticket', { schema: StreamTicket, onRequest: courierOnly }, async (req) =>
    app.services.auth.streamTicket(req.user),
  );

  app.route({
    method: 'GET',
    url: COURIER_STREAM_PATH,
    schema: Stream,
    // A socket lives for hours: it must not hold one of the route's admission slots (plugins/admission-control.ts) all along.
    config: { maxInFlight: 0 },
    onRequest: app.requireStreamRole('courier'),
    handler: async (_req, reply) => {
      void reply.header('upgrade', 'websocket');
      throw upgradeRequired();
    },
    wsHandler: (socket, req) => app.services.courierStream.attach(socket, req.user),
  });

  const asyncApi = asyncApiDocument();
  app.get('/asyncapi.json', { schema: { hide: true } }, async () => asyncApi);
}
