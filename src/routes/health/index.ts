import Type from 'typebox';
import type { App } from '../../app.types.ts';
import { UNSHED } from '../../plugins/load-shedding.ts';

const Health = Type.Object({ status: Type.String() });
const Ready = Type.Object({ status: Type.String(), database: Type.Boolean(), shutting_down: Type.Boolean() });

export default async function healthRoutes(app: App) {
  app.get('/healthz', { config: UNSHED, schema: { tags: ['ops'], summary: 'The process is alive', response: { 200: Health } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { config: UNSHED, schema: { tags: ['ops'], summary: 'Ready for traffic: database reachable, not shutting down', response: { 200: Ready, 503: Ready } } },
    async (_req, reply) => {
      const state = await app.services.health.readiness();
      return reply.code(state.status === 'ready' ? 200 : 503).send(state);
    },
  );
}
