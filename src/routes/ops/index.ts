import type { App } from '../../app.types.ts';
import { ListDeadLetters, ResendDeadLetters } from './schema.ts';

export default async function opsRoutes(app: App) {
  const admins = app.requireRole('admin');

  app.get('/v1/ops/dead-letters', { schema: ListDeadLetters, onRequest: admins }, async () => app.services.deadLetters.list());

  app.post('/v1/ops/dead-letters/resend', { schema: ResendDeadLetters, onRequest: admins }, async (req) =>
    app.services.deadLetters.resend(req.body.ids),
  );
}
