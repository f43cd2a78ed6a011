import type { App } from '../../app.types.ts';
import { LoginLockedOut } from '../../services/auth.service.ts';
import { Login, Logout, Me, Register, StreamTicket } from './schema.ts';

export default async function authRoutes(app: App) {
  // Answers here carry a token or an account: no cache, shared or private, may keep them.
  // @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1 (Cache-Control: no-store, Pragma: no-cache)
  app.addHook('onRequest', async (_req, reply) => {
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  });
  app.addHook('onError', async (_req, reply, err) => {
    if (err instanceof LoginLockedOut) void reply.header('retry-after', String(err.retryAfterSeconds));
  });

  app.post('/v1/auth/register', { schema: Register }, async (req, reply) => {
    const session = await app.services.auth.register(req.body);
    return reply.code(201).send(session);
  });

  app.post('/v1/auth/login', { schema: Login }, async (req) => app.services.auth.login(req.body));

  app.post('/v1/auth/logout', { schema: Logout, onRequest: app.requireRole() }, async (req, reply) => {
    await app.services.auth.logout(req.user);
    return reply.code(204).send(null);
  });

  app.get('/v1/auth/me', { schema: Me, onRequest: app.requireRole() }, async (req) => {
    return app.services.auth.me(req.user);
  });

  app.post('/v1/auth/stream-ticket', { schema: StreamTicket, onRequest: app.requireRole() }, async (req) =>
    app.services.auth.streamTicket(req.user),
  );
}
