import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isPoolExhausted } from '../db/database.ts';
import { AppError, type FieldError, problemType } from '../errors.ts';
import { NO_NUL_PATTERN } from '../routes/shared.schema.ts';
import { overloaded } from './overloaded.ts';
import { isPartialReport } from './request-validation.ts';

/** At most this many `errors` in a problem: a form needs a screenful, not a dump. */
export const MAX_LISTED_ERRORS = 20;
/** Longest `detail`, `field` or `message` sent or logged: text quoted from a request is cut, never echoed whole. */
const MAX_TEXT = 500;

const clip = (text: string, max = MAX_TEXT) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

interface ValidationIssue {
  instancePath: string;
  message?: string;
  keyword: string;
  params: Record<string, unknown>;
}

/** Ajv's issues as `{ field: "body/items/0/quantity", message }`: the shape clients can map onto a form. */
function fieldError(context: string | undefined, issue: ValidationIssue): FieldError {
  const missing = issue.keyword === 'required' ? `/${String(issue.params.missingProperty)}` : '';
  const message = issue.keyword === 'pattern' && issue.params.pattern === NO_NUL_PATTERN ? 'must not contain NUL (\\u0000)' : (issue.message ?? issue.keyword);
  return { field: clip(`${context ?? 'request'}${issue.instancePath}${missing}`), message: clip(message) };
}

/** The first MAX_LISTED_ERRORS of a list, and whether any were left off. */
function listed<T>(all: readonly T[]): { errors: T[]; truncated: boolean } {
  return { errors: all.slice(0, MAX_LISTED_ERRORS), truncated: all.length > MAX_LISTED_ERRORS };
}

function validationDetail(found: number, shown: number, partial: boolean): string {
  if (partial) return 'The request does not match the schema. It is too large to check in full, so only its first problem is listed.';
  if (shown < found) return `The request does not match the schema: ${shown} of its ${found} problems are listed.`;
  return 'The request does not match the schema.';
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  408: 'Request timeout',
  413: 'Payload too large',
  414: 'URI too long',
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
  // Fastify's default message joins every issue: as long as the list. The handler builds the answer
  // from `err.validation`; the message only needs to say where, for logs and tests.
  app.setSchemaErrorFormatter((issues, part) => {
    const first = issues[0] ? ` at ${part}${issues[0].instancePath}` : '';
    return new Error(clip(`${part} does not match the schema (${issues.length} problem(s), first${first}: ${issues[0]?.message ?? 'invalid'})`));
  });

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
      detail: status >= 500 ? 'Something went wrong on our side; the error has been logged.' : clip(err.message),
      instance: req.url,
    };
    let found = 0;
    if (err.validation) {
      const issues = err.validation as ValidationIssue[];
      const { errors, truncated } = listed(issues);
      const partial = isPartialReport(issues);
      found = issues.length;
      body.type = problemType('validation');
      body.title = 'Invalid request';
      body.detail = validationDetail(issues.length, errors.length, partial);
      body.errors = errors.map((issue) => fieldError(err.validationContext, issue));
      if (truncated || partial) body.errors_truncated = true;
    } else if (err instanceof AppError) {
      if (err.errors) {
        const { errors, truncated } = listed(err.errors);
        found = err.errors.length;
        body.errors = errors;
        if (truncated) body.errors_truncated = true;
      }
      Object.assign(body, err.extra);
    }
    if (status >= 500) req.log.error({ err }, 'request failed');
    else {
      // One short line whatever the request held: where the first problem is and how many there were.
      const first = (body.errors as FieldError[] | undefined)?.[0]?.field;
      req.log.info({ status, problem: body.type, ...(found ? { error_count: found, first_field: first } : {}) }, clip(err.message, 200));
    }
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

/**
 * Errors Fastify's router raises before any route or error handler runs (a malformed percent-escape,
 * a path parameter past its length limit): answered as problem details too, without echoing the path.
 * @see https://fastify.dev/docs/latest/Reference/Server/#frameworkerrors
 */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  void reply
    .code(status)
    .type('application/problem+json')
    .serializer(JSON.stringify)
    .send({
      type: problemType(status),
      title: TITLES[status] ?? 'Bad request',
      status,
      detail: status === 414 ? 'A path parameter is too long.' : 'The request URL is malformed.',
    });
}

export default fp(problemDetails, { name: 'problem-details' });
