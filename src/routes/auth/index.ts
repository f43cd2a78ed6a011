import type { App } from '../../app.types.ts';
import { Login, Me, Register } from './schema.ts';

export default async function authRoutes(app: App) {
  app.post('/v1/auth/register', { schema: Register }, async (req, reply) => {
    const session = await app.services.auth.register(req.body);
    return reply.code(201).send(session);
  });

  app.post('/v1/auth/login', { schema: Login }, async (req) => app.services.auth.login(req.body));

  app.get('/v1/auth/me', { schema: Me, onRequest: app.requireRole() }, async (req) => {
    return app.services.auth.me(req.user);
  });
}
