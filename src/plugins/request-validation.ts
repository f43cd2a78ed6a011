import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

// Unknown fields are dropped and defaults filled in, on both passes below.
const COMMON = { removeAdditional: true, useDefaults: true } as const;

/**
 * `format: "uuid"` as JSON Schema and PostgreSQL mean it: RFC 9562's hex-and-hyphens form. ajv-formats
 * also admits a `urn:uuid:` prefix, which PostgreSQL refuses (`invalid input syntax for type uuid`), so
 * such an id passed validation and ended as a 500.
 * @see https://json-schema.org/draft/2020-12/json-schema-validation#section-7.3.5
 * @see https://www.rfc-editor.org/rfc/rfc9562#section-4
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A request part of at most this many JSON values (objects, arrays, strings, numbers…) has every problem
 * reported at once, for forms; a larger one has its first. A real order is about a hundred values.
 */
export const FULL_REPORT_MAX_VALUES = 1_000;

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type Compile = (route: { httpPart?: string }) => unknown;
type BuildCompiler = (externalSchemas: unknown, options: Record<string, unknown>) => Compile;
interface DataContext {
  parentData: Record<string, unknown>;
  parentDataProperty: string;
}
interface AjvValidate {
  (data: unknown, dataCxt?: DataContext): boolean;
  errors?: unknown[] | null;
  schemaEnv?: unknown;
}

const partialReports = new WeakSet<object>();

/** True when `errors` holds only the first problem of a part too large to check in full. */
export function isPartialReport(errors: unknown): boolean {
  return typeof errors === 'object' && errors !== null && partialReports.has(errors);
}

/** Whether `data` holds at most `limit` JSON values; never looks at more than `limit` of them. */
function hasAtMostValues(data: unknown, limit: number): boolean {
  const stack: unknown[] = [data];
  let counted = 1;
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      counted += value.length;
      if (counted > limit) return false;
      for (const item of value) stack.push(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const key in value) {
        if (++counted > limit) return false;
        stack.push((value as Record<string, unknown>)[key]);
      }
    }
  }
  return true;
}

/**
 * Ajv with `allErrors: true` keeps going after the first problem, so its work and its error list grow
 * with the input: 1 MiB of `[{},{},…]` is 700,000 errors and seconds of blocked event loop. So the
 * first pass stops at the first problem (cheap at any size), and only a part that failed it and is
 * small runs the second pass that collects every problem.
 * @see https://ajv.js.org/security.html#security-risks-of-trusted-schemas (allErrors)
 * @see https://ajv.js.org/options.html#allerrors
 */
function firstThenAll(first: AjvValidate, all: AjvValidate): AjvValidate {
  const validate: AjvValidate = (data, dataCxt) => {
    validate.errors = null;
    if (first(data, dataCxt)) return true;
    const firstErrors = [...(first.errors ?? [])];
    // Coercion may have replaced the root value in its parent; the second pass must see that one.
    const current = dataCxt ? dataCxt.parentData[dataCxt.parentDataProperty] : data;
    if (hasAtMostValues(current, FULL_REPORT_MAX_VALUES) && !all(current, dataCxt) && all.errors?.length) {
      validate.errors = all.errors;
    } else {
      partialReports.add(firstErrors);
      validate.errors = firstErrors;
    }
    return false;
  };
  // Fastify hands Ajv's own functions the request as parent, so coercion can replace a root value.
  validate.schemaEnv = first.schemaEnv;
  return validate;
}

/** The first non-finite number among a coerced part's values (flat, or arrays of values), as a JSON pointer. */
function nonFinite(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  for (const [key, value] of Object.entries(data)) {
    for (const v of Array.isArray(value) ? value : [value]) if (typeof v === 'number' && !Number.isFinite(v)) return `/${key}`;
  }
  return undefined;
}

/**
 * Ajv coerces `"Infinity"` or `"1e400"` in a query, path or header to ±Infinity and then skips
 * `minimum`/`maximum` (they apply to finite numbers only), so `?limit=Infinity` passed a schema capped at
 * 100 and reached SQL. No parameter means infinity: a coerced part holding one is refused like a wrong type.
 */
function finiteOnly(validate: AjvValidate): AjvValidate {
  const finite: AjvValidate = (data, dataCxt) => {
    if (!validate(data, dataCxt)) {
      finite.errors = validate.errors;
      return false;
    }
    const at = nonFinite(dataCxt ? dataCxt.parentData[dataCxt.parentDataProperty] : data);
    if (at === undefined) {
      finite.errors = null;
      return true;
    }
    finite.errors = [{ instancePath: at, schemaPath: '#', keyword: 'type', params: { type: 'number' }, message: 'must be a finite number' }];
    return false;
  };
  finite.schemaEnv = validate.schemaEnv;
  return finite;
}

/**
 * Query strings, paths and headers arrive as text, so their numbers and booleans are coerced from
 * strings. JSON bodies already carry types: `"quantity": "2"` is a wrong type and gets a 400, not a
 * silent conversion. Each part is checked by `firstThenAll`.
 * @see https://fastify.dev/docs/latest/Reference/Validation-and-Serialization/#validator-compiler
 */
export function schemaController(): SchemaController {
  const compilers = {
    text: { first: AjvCompiler() as unknown as BuildCompiler, all: AjvCompiler() as unknown as BuildCompiler },
    json: { first: AjvCompiler() as unknown as BuildCompiler, all: AjvCompiler() as unknown as BuildCompiler },
  };
  const buildValidator: BuildCompiler = (externalSchemas, options) => {
    const build = (kind: keyof typeof compilers, coerceTypes: 'array' | false) => {
      const compile = (pass: 'first' | 'all') =>
        compilers[kind][pass](externalSchemas, {
          ...options,
          customOptions: { ...COMMON, coerceTypes, allErrors: pass === 'all' },
          onCreate: (ajv: { addFormat(name: string, format: RegExp): unknown }) => ajv.addFormat('uuid', UUID),
        });
      const first = compile('first');
      const all = compile('all');
      return (route: { httpPart?: string }) => {
        const validate = firstThenAll(first(route) as AjvValidate, all(route) as AjvValidate);
        return coerceTypes ? finiteOnly(validate) : validate;
      };
    };
    const text = build('text', 'array');
    const json = build('json', false);
    return (route) => (route.httpPart === 'body' ? json(route) : text(route));
  };
  // The compiler typings describe a single Ajv instance; several behind one factory is what Fastify's docs show.
  return { compilersFactory: { buildValidator } } as unknown as SchemaController;
}
