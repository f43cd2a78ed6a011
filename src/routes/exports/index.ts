import type { App } from '../../app.types.ts';
import { ExportOrders } from './schema.ts';

export default async function exportRoutes(app: App) {
  app.get(
    '/v1/restaurants/:id/orders/export',
    {
      schema: ExportOrders,
      onRequest: app.requireRole('restaurant', 'admin'),
      // Admission control refuses exports past the export pool's size (503, Retry-After) instead of queueing them on it.
      config: { maxInFlight: app.config.exports.maxConcurrent },
      // A HEAD would run the whole query to send nothing.
      exposeHeadRoute: false,
    },
    async (req, reply) => {
      const file = await app.services.orderExports.open(req.user, req.params.id, req.query, req.signal);
      return reply
        .type(file.contentType)
        .header('content-disposition', `attachment; filename="${file.filename}"`)
        .header('cache-control', 'no-store')
        .send(file.body);
    },
  );
}
