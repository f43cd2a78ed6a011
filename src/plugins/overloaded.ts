import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemType } from '../errors.ts';

/**
 * The one answer to "not now": 503, `Retry-After` and RFC 9457 problem details. Load shedding and a
 * database with no connection to give both answer with it. The reply is prepared and the body
 * returned, because under-pressure sends the body itself.
 */
export function overloaded(req: FastifyRequest, reply: FastifyReply, reason: string, retryAfterSeconds: number) {
  void reply.code(503).header('retry-after', String(retryAfterSeconds)).type('application/problem+json').serializer(JSON.stringify);
  return {
    type: problemType('overloaded'),
    title: 'Service unavailable',
    status: 503,
    detail: `The server is overloaded (${reason}); retry after ${retryAfterSeconds} s.`,
    instance: req.url,
  };
}
