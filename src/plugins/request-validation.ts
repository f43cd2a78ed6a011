import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

// Unknown fields are dropped, and every problem in a request is reported at once (arrays are bounded by maxItems).
const COMMON = { removeAdditional: true, allErrors: true, useDefaults: true } as const;

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type Compile = (route: { httpPart?: string }) => unknown;
type BuildCompiler = (externalSchemas: unknown, options: Record<string, unknown>) => Compile;

/**
 * Query strings, paths and headers arrive as text, so their numbers and booleans are coerced from
 * strings. JSON bodies already carry types: `"quantity": "2"` is a wrong type and gets a 400, not a
 * silent conversion.
 * @see https://fastify.dev/docs/latest/Reference/Validation-and-Serialization/#validator-compiler
 */
export function schemaController(): SchemaController {
  const buildText = AjvCompiler() as unknown as BuildCompiler;
  const buildJson = AjvCompiler() as unknown as BuildCompiler;
  const buildValidator: BuildCompiler = (externalSchemas, options) => {
    const text = buildText(externalSchemas, { ...options, customOptions: { ...COMMON, coerceTypes: 'array' } });
    const json = buildJson(externalSchemas, { ...options, customOptions: { ...COMMON, coerceTypes: false } });
    return (route) => (route.httpPart === 'body' ? json(route) : text(route));
  };
  // The compiler typings describe a single Ajv instance; two behind one factory is what Fastify's docs show.
  return { compilersFactory: { buildValidator } } as unknown as SchemaController;
}
