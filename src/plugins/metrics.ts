import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createMetrics } from '../ops/metrics.ts';
import { UNSHED } from './load-shedding.ts';

/**
 * The metrics registry (`app.metrics`, which other plugins add their sources to) and `/metrics`.
 * Registered first: the plugins that refuse requests (shedding, rate limits, admission) count their
 * refusals here before any other per-request work, and observability records what is admitted.
 */
async function metricsPlugin(app: FastifyInstance) {
  const metrics = createMetrics();
  app.decorate('metrics', metrics);
  let openConnections = 0;
  app.server.on('connection', (socket) => {
    openConnections++;
    socket.once('close', () => openConnections--);
  });
  metrics.sources.openConnections = () => openConnections;
  app.addHook('onClose', async () => metrics.close());

  app.get('/metrics', { schema: { hide: true }, config: UNSHED }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}

export default fp(metricsPlugin, { name: 'metrics' });
