import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Principal, Role } from '../domain/identity.ts';
import { forbidden, unauthorized } from '../errors.ts';
import type { AuthService } from '../services/auth.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * An onRequest hook (authentication runs before any body is parsed or validated) that admits a valid
     * bearer token of one of the roles (any role when none given) whose account still has that role and
     * token version (checked against a short-lived per-node cache, see AuthService).
     */
    requireRole(...roles: Role[]): (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    user: Principal;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

async function authentication(app: FastifyInstance, opts: { auth: Pick<AuthService, 'authenticate'> }) {
  app.decorateRequest('user', null as unknown as Principal);
  app.decorate('requireRole', (...roles: Role[]) => async (req: FastifyRequest) => {
    const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
    const principal = token ? await opts.auth.authenticate(token) : undefined;
    if (!principal) throw unauthorized();
    if (roles.length > 0 && !roles.includes(principal.role)) {
      throw forbidden(`This action is for ${roles.join(' or ')} accounts.`);
    }
    req.user = principal;
  });
}

export default fp(authentication, { name: 'authentication' });
