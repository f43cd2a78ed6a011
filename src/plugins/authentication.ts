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
    /**
     * `requireRole` for live streams, which browsers open without headers: a `ticket` query parameter
     * (a stream ticket, never an API token) when given, the bearer header (an API token, never a ticket) otherwise.
     */
    requireStreamRole(...roles: Role[]): (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
  interface FastifyRequest {
    user: Principal;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

async function authentication(app: FastifyInstance, opts: { auth: Pick<AuthService, 'authenticate' | 'authenticateTicket'> }) {
  const bearer = (req: FastifyRequest) => {
    const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
    return token ? opts.auth.authenticate(token) : undefined;
  };
  const admit = (req: FastifyRequest, principal: Principal | undefined, roles: Role[]) => {
    if (!principal) throw unauthorized();
    if (roles.length > 0 && !roles.includes(principal.role)) {
      throw forbidden(`This action is for ${roles.join(' or ')} accounts.`);
    }
    req.user = principal;
  };
  app.decorateRequest('user', null as unknown as Principal);
  app.decorate('requireRole', (...roles: Role[]) => async (req: FastifyRequest) => admit(req, await bearer(req), roles));
  app.decorate('requireStreamRole', (...roles: Role[]) => async (req: FastifyRequest) => {
    const ticket = (req.query as { ticket?: unknown } | undefined)?.ticket;
    const principal = ticket === undefined ? await bearer(req) : typeof ticket === 'string' ? await opts.auth.authenticateTicket(ticket) : undefined;
    admit(req, principal, roles);
  });
}

export default fp(authentication, { name: 'authentication' });
