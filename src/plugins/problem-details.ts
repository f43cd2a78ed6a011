import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isPoolExhausted } from '../db/database.ts';
import { AppError, type FieldError, problemType } from '../errors.ts';
import { overloaded } from './overloaded.ts';

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** Ajv's issues as `{ field: "body/items/0/quantity", message }`: the shape clients can map onto a form. */
function fieldErrors(context: string | undefined, issues: ValidationIssue[]): FieldError[] {
  return issues.map((issue) => {
    const missing = issue.keyword === 'required' ? `/${String(issue.params.missingProperty)}` : '';
    return { field: `${context ?? 'request'}${issue.instancePath}${missing}`, message: issue.message ?? issue.keyword };
  });
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  408: 'Request timeout',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  503: 'Service unavailable',
};

/**
 * One error handler for the whole API: full context to the log, RFC 9457 problem details to the
 * client, and nothing of a 5xx's internals (no stack, no SQL) on the wire.
 * @see https://www.rfc-editor.org/rfc/rfc9457
 */
async function problemDetails(app: FastifyInstance, opts: { retryAfterSeconds: number }) {
  app.setErrorHandler((err: FastifyError & Partial<AppError>, req, reply) => {
    if (isPoolExhausted(err)) {
      // No connection to be had (pool wait passed, or PostgreSQL refused one): overload, answered like load shedding.
      req.log.warn({ code: (err as { code?: string }).code }, 'no database connection available; answering 503');
      void reply.send(overloaded(req, reply, 'no database connection available', opts.retryAfterSeconds));
      return;
    }
    let status = err instanceof AppError ? err.status : (err.statusCode ?? 500);
    if (status < 400 || status > 599) status = 500;
    const body: Record<string, unknown> = {
      type: err instanceof AppError ? err.type : problemType(status),
      title: err instanceof AppError ? err.title : (TITLES[status] ?? 'Internal server error'),
      status,
      detail: status >= 500 ? 'Something went wrong on our side; the error has been logged.' : err.message,
      instance: req.url,
    };
    if (err.validation) {
      body.type = problemType('validation');
      body.title = 'Invalid request';
      body.detail = 'The request does not match the schema.';
      body.errors = fieldErrors(err.validationContext, err.validation as ValidationIssue[]);
    } else if (err instanceof AppError) {
      if (err.errors) body.errors = err.errors;
      Object.assign(body, err.extra);
    }
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ status, problem: body.type }, err.message);
    void reply.code(status).type('application/problem+json').serializer(JSON.stringify).send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type('application/problem+json').serializer(JSON.stringify).send({
      type: problemType('not-found'),
      title: 'Not found',
      status: 404,
      detail: `No route ${req.method} ${req.url.split('?')[0]}.`,
      instance: req.url,
    });
  });
}

export default fp(problemDetails, { name: 'problem-details' });
