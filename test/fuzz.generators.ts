/**
 * Request generators for the route fuzzer (test/fuzz.routes.test.ts), derived from the app's own
 * OpenAPI document: the subset of JSON Schema that TypeBox emits for request parts (object, array,
 * string with format/pattern/lengths, integer/number with bounds, boolean, enum/const, anyOf/oneOf,
 * allOf, nullable type lists, $ref by '#/components/schemas/…' or by $id) becomes fast-check
 * arbitraries of three kinds: valid values, boundary values (still valid), and values that are
 * invalid by construction. Bodies are JSON, checked without coercion; path, query and header values
 * are text that Ajv coerces (`coerceTypes: 'array'`), so they have their own text generators.
 * @see https://json-schema.org/draft/2020-12/json-schema-validation
 * @see https://ajv.js.org/coercion.html
 */
import fc from 'fast-check';

export type JsonSchema = { [key: string]: unknown };

/** A number written verbatim into the JSON text: `-0`, `1e400`, `100.0` cannot come out of JSON.stringify. */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** JSON.stringify, except that RawJson values are written as their text. */
export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface Param {
  name: string;
  required: boolean;
  schema: JsonSchema;
}

/** One operation of the OpenAPI document, with its request parts' schemas resolved. */
export interface Operation {
  /** `METHOD /path/{param}`, as the document spells it. */
  key: string;
  method: string;
  path: string;
  pathParams: Param[];
  query: Param[];
  headers: Param[];
  body?: JsonSchema;
  secured: boolean;
  /** The status codes the document lists for it. */
  statuses: number[];
}

/** Who sends a request: a real account, none, a forged or expired token, or a valid token of an account that does not exist. */
export interface Identity {
  name: string;
  role?: string;
  authorization?: string;
  /** Refused at authentication by construction: no token, or one the server did not issue or no longer accepts. */
  rejected: boolean;
  /** How often it is picked relative to the others (1 unless given). */
  weight?: number;
}

/** Real rows to aim at: given a field (`path.id`, `body.restaurant_id`, `body.items.menu_item_id`, `query.cursor`…) of an operation, values that exist. */
export type Hint = (op: Operation, field: string) => fc.Arbitrary<string> | undefined;

export interface FuzzContext {
  resolve: (schema: JsonSchema) => JsonSchema;
  identities: Identity[];
  /** Roles whose identities get half the picks for an operation (the rest are uniform over all identities). */
  preferredRoles: (op: Operation) => string[];
  hint: Hint;
  /** Extra valid bodies for operations whose random valid body would almost never reach the happy path. */
  realisticBody?: (op: Operation) => fc.Arbitrary<unknown> | undefined;
  /** Operations whose schema-valid requests are expensive (a password hash each): mostly invalid requests for them. */
  costly: (op: Operation) => boolean;
}

/**
 * `valid`: every part matches the schema (it may still be refused for what it asks: 401, 403, 404, 409, 422).
 * `invalid`: some part cannot match the schema, or the token cannot be accepted: must be a 4xx that changes nothing.
 * `either`: odd but not classifiable from the schema alone (duplicated query parameters, a BOM, a charset).
 */
export type Kind = 'valid' | 'invalid' | 'either';

export interface FuzzRequest {
  op: string;
  kind: Kind;
  /** What was done to the request, for a failure message. */
  why: string;
  identity: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document

export function refResolver(doc: { components?: { schemas?: Record<string, JsonSchema> } }) {
  const named = doc.components?.schemas ?? {};
  const byId = new Map(Object.values(named).flatMap((s) => (typeof s.$id === 'string' ? [[s.$id, s] as const] : [])));
  const resolve = (schema: JsonSchema): JsonSchema => {
    const ref = schema.$ref;
    if (typeof ref !== 'string') return schema;
    const target = ref.startsWith('#/components/schemas/') ? named[ref.slice('#/components/schemas/'.length)] : (byId.get(ref.replace(/#$/, '')) ?? named[ref.replace(/#$/, '')]);
    if (!target) throw new Error(`unresolved $ref ${ref}`);
    return resolve(target);
  };
  return resolve;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

export function operationsOf(doc: { paths: Record<string, Record<string, unknown>> }, resolve: (s: JsonSchema) => JsonSchema): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (path.startsWith('/docs')) continue;
    for (const method of METHODS) {
      const op = item[method] as
        | { parameters?: (Param & { in: string })[]; requestBody?: { content?: Record<string, { schema: JsonSchema }> }; security?: unknown[]; responses?: Record<string, unknown> }
        | undefined;
      if (!op) continue;
      const params = (op.parameters ?? []).map((p) => ({ ...p, schema: resolve(p.schema) }));
      const pick = (where: string) => params.filter((p) => p.in === where).map(({ name, required, schema }) => ({ name, required: Boolean(required), schema }));
      const body = op.requestBody?.content?.['application/json']?.schema;
      ops.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: pick('path'),
        query: pick('query'),
        headers: pick('header'),
        body: body && resolve(body),
        secured: Array.isArray(op.security) && op.security.length > 0,
        statuses: Object.keys(op.responses ?? {}).map(Number),
      });
    }
  }
  return ops;
}

// ---------------------------------------------------------------------------------------------
// Strings

/** Characters that break naive code: astral, combining, RTL override, BOM, line separators, quotes, NUL. */
const AWKWARD = ['😀', '𝕏', '中', 'é', 'e\u0301', '\u202E', '\uFEFF', '\u2028', '\u00A0', '\t', '\n', '"', "'", '\\', '%', '<', '\u0000', '\u007F', '\uFFFF'];
const anyChar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(...AWKWARD) },
);

/** `^[class]*$` / `^[class]+$`: the one-character test of the class, or undefined for any other pattern. */
function charClassOf(pattern: string): RegExp | undefined {
  const m = /^\^(\[(?:\\.|[^\]\\])+\])[*+]\$$/.exec(pattern);
  return m ? new RegExp(`^${m[1]}$`, 'u') : undefined;
}

const codePoints = (s: string) => [...s].length;

/** Exactly `n` code points drawn from `chars`: a short random chunk repeated, so 64 KiB costs nothing to generate. */
function exactLength(chars: fc.Arbitrary<string>, n: number): fc.Arbitrary<string> {
  if (n === 0) return fc.constant('');
  return fc.array(chars, { minLength: 1, maxLength: Math.min(n, 16) }).map((chunk) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(chunk[i % chunk.length]!);
    return out.join('');
  });
}

const hexUuid = fc.uuid();
/** The edges of the uuid format (RFC 9562's string form): upper case, the nil and max uuids. */
const uuidBoundary = (base: fc.Arbitrary<string>) =>
  fc.oneof(
    base.map((u) => u.toUpperCase()),
    fc.constantFrom('00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'),
  );
const notUuids = fc.oneof(
  fc.constantFrom('not-a-uuid', '1', '0', '-1', 'null', 'undefined', '{}', '00000000-0000-0000-0000-00000000000', '00000000000000000000000000000000', "' OR 1=1 --", '../../etc/passwd', '%00', 'ｆｆｆｆｆｆｆｆ-ffff-ffff-ffff-ffffffffffff'),
  hexUuid.map((u) => `{${u}}`),
  // A URN, not the uuid's string form; ajv-formats admits it, PostgreSQL does not.
  hexUuid.map((u) => `urn:uuid:${u}`),
  hexUuid.map((u) => `${u}0`),
  hexUuid.map((u) => u.replaceAll('-', '')),
  hexUuid.map((u) => `${u}\u0000`),
  hexUuid.map((u) => `${u.slice(0, 8)}g${u.slice(9)}`),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => !/^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/i.test(s)),
);

const emailLocal = fc.stringMatching(/^[a-z0-9]{1,12}(?:[._+-][a-z0-9]{1,8})?$/);
const emailDomain = fc.stringMatching(/^[a-z0-9]{1,10}\.(?:test|example)$/);
const emails = fc.tuple(emailLocal, emailDomain).map(([l, d]) => `${l}@${d}`);
const emailBoundary = (max: number) =>
  fc.oneof(
    fc.tuple(emailLocal, emailDomain).map(([l, d]) => `${l.toUpperCase()}@${d.toUpperCase()}`),
    fc.tuple(fc.stringMatching(/^[a-z0-9]{8}$/), emailDomain).map(([l, d]) => `${l.repeat(Math.ceil(max / 8)).slice(0, max - d.length - 1)}@${d}`),
    fc.constant("a!#$%&'*+/=?^_`{|}~-@x.test"),
  );
const notEmails = fc.constantFrom('no-at-sign', 'a@', '@b.test', 'a b@c.test', 'a@b.test\u0000', 'é@b.test', 'a@@b.test', '<a@b.test>', 'a@-b.test');

interface StringSpec {
  /** The whole pattern, when there is one. */
  matches?: RegExp;
  minLength: number;
  maxLength?: number;
  format?: string;
  chars: fc.Arbitrary<string>;
  /** A character the pattern refuses, when there is a pattern. */
  outside?: fc.Arbitrary<string>;
}

function stringSpec(schema: JsonSchema): StringSpec {
  const pattern = typeof schema.pattern === 'string' ? schema.pattern : undefined;
  const cls = pattern ? charClassOf(pattern) : undefined;
  const format = typeof schema.format === 'string' ? schema.format : undefined;
  // A pattern beside a format narrows the format's values; alone, it must be a character class.
  if (pattern && !cls && !format) throw new Error(`fuzz generators: pattern ${pattern} is neither a character class nor beside a format; add support for it`);
  return {
    matches: pattern ? new RegExp(pattern, 'u') : undefined,
    minLength: typeof schema.minLength === 'number' ? schema.minLength : 0,
    maxLength: typeof schema.maxLength === 'number' ? schema.maxLength : undefined,
    format,
    chars: cls ? anyChar.filter((c) => cls.test(c)) : anyChar,
    outside: cls ? fc.constantFrom('\u0000', ' ', 'é', '😀', '/', '\n').filter((c) => !cls.test(c)) : undefined,
  };
}

function validString(schema: JsonSchema, hinted: fc.Arbitrary<string> | undefined, boundary: boolean): fc.Arbitrary<string> {
  const s = stringSpec(schema);
  const formatted = formattedString(s, hinted, boundary);
  if (formatted) return s.matches ? formatted.filter((v) => s.matches!.test(v)) : formatted;
  // A hint (real emails, a known password, issued cursors) takes most picks; the schema's own values the rest.
  const withHint = (own: fc.Arbitrary<string>) => (hinted && !boundary ? fc.oneof({ weight: 2, arbitrary: hinted }, { weight: 1, arbitrary: own }) : own);
  if (boundary) {
    const lengths = [s.minLength, s.maxLength ?? s.minLength + 1000, Math.max(s.minLength, 1)].filter((n, i, all) => all.indexOf(n) === i);
    return fc.constantFrom(...lengths).chain((n) => exactLength(s.chars, n));
  }
  return withHint(fc.string({ unit: s.chars, minLength: s.minLength, maxLength: Math.min(s.maxLength ?? 40, s.minLength + 40) }));
}

function formattedString(s: StringSpec, hinted: fc.Arbitrary<string> | undefined, boundary: boolean): fc.Arbitrary<string> | undefined {
  if (s.format === 'uuid') {
    const base = hinted ? fc.oneof({ weight: 3, arbitrary: hinted }, { weight: 1, arbitrary: hexUuid }) : hexUuid;
    return boundary ? uuidBoundary(base) : base;
  }
  const withHint = (own: fc.Arbitrary<string>) => (hinted && !boundary ? fc.oneof({ weight: 2, arbitrary: hinted }, { weight: 1, arbitrary: own }) : own);
  if (s.format === 'email') return withHint(boundary ? emailBoundary(s.maxLength ?? 254) : emails);
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true, min: new Date('0001-01-01'), max: new Date('9999-12-31') }).map((d) => d.toISOString());
  if (s.format) throw new Error(`fuzz generators: string format ${s.format} is not supported`);
  return undefined;
}

/** Strings that cannot match `schema`, whatever their surroundings. */
function invalidString(schema: JsonSchema, longest: number): fc.Arbitrary<{ value: string; why: string }>[] {
  const s = stringSpec(schema);
  const out: fc.Arbitrary<{ value: string; why: string }>[] = [];
  const tag = (why: string) => (value: string) => ({ value, why });
  if (s.format === 'uuid') out.push(notUuids.map(tag('not a uuid')));
  if (s.format === 'email') out.push(notEmails.map(tag('not an email')));
  if (s.format === 'date-time') out.push(fc.constantFrom('yesterday', '2024-13-01T00:00:00Z').map(tag('not a date-time')));
  if (s.format && s.matches) {
    const formatOnly = formattedString({ ...s, matches: undefined }, undefined, true)!;
    if (fc.sample(formatOnly, { seed: 1, numRuns: 50 }).some((v) => !s.matches!.test(v))) {
      out.push(formatOnly.filter((v) => !s.matches!.test(v)).map(tag(`${s.format} the pattern refuses`)));
    }
  }
  if (s.maxLength !== undefined) {
    out.push(fc.integer({ min: s.maxLength + 1, max: Math.max(s.maxLength + 2, longest) }).chain((n) => exactLength(s.chars, n)).map(tag(`longer than ${s.maxLength}`)));
  } else if (s.format) {
    out.push(fc.integer({ min: 37, max: longest }).map((n) => 'x'.repeat(n)).map(tag('long, not the format')));
  }
  if (s.minLength > 0) out.push(exactLength(s.chars, s.minLength - 1).map(tag(`shorter than ${s.minLength}`)));
  if (s.outside && !s.format) {
    const inside = validString(schema, undefined, false).filter((v) => codePoints(v) < (s.maxLength ?? Infinity));
    out.push(fc.tuple(inside, s.outside, fc.nat()).map(([v, c, at]) => {
      const cps = [...v];
      cps.splice(at % (cps.length + 1), 0, c);
      return { value: cps.join(''), why: `holds ${JSON.stringify(c)}` };
    }));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values

const typesOf = (schema: JsonSchema): string[] => (Array.isArray(schema.type) ? (schema.type as string[]) : typeof schema.type === 'string' ? [schema.type] : []);

interface Bounds {
  min: number;
  max: number;
  exclusiveMin: boolean;
  exclusiveMax: boolean;
}

function boundsOf(schema: JsonSchema): Bounds {
  const num = (k: string) => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
  const exMin = num('exclusiveMinimum');
  const exMax = num('exclusiveMaximum');
  return {
    min: exMin ?? num('minimum') ?? -Number.MAX_VALUE,
    max: exMax ?? num('maximum') ?? Number.MAX_VALUE,
    exclusiveMin: exMin !== undefined,
    exclusiveMax: exMax !== undefined,
  };
}

const inRange = (b: Bounds, v: number) => (b.exclusiveMin ? v > b.min : v >= b.min) && (b.exclusiveMax ? v < b.max : v <= b.max);

function validNumber(schema: JsonSchema, integer: boolean, boundary: boolean): fc.Arbitrary<number | RawJson> {
  const b = boundsOf(schema);
  if (integer) {
    const min = Math.ceil(b.exclusiveMin ? b.min + 1 : Math.max(b.min, Number.MIN_SAFE_INTEGER));
    const max = Math.floor(b.exclusiveMax ? b.max - 1 : Math.min(b.max, Number.MAX_SAFE_INTEGER));
    if (!boundary) return fc.integer({ min, max });
    const edges: (number | RawJson)[] = [min, max, new RawJson(`${min}.0`), new RawJson(`${max}e0`)];
    if (inRange(b, 0)) edges.push(new RawJson('-0'), 0);
    return fc.constantFrom(...edges);
  }
  const doubles = fc.double({ min: b.min, max: b.max, minExcluded: b.exclusiveMin, maxExcluded: b.exclusiveMax, noNaN: true, noDefaultInfinity: true });
  if (!boundary) return doubles;
  const edges: (number | RawJson)[] = [b.exclusiveMin ? b.min + Number.EPSILON : b.min, b.exclusiveMax ? b.max - Number.EPSILON : b.max];
  if (inRange(b, 0)) edges.push(new RawJson('-0'), 0, new RawJson('0e-400'));
  if (inRange(b, 5e-324)) edges.push(5e-324);
  return fc.oneof(fc.constantFrom(...edges.filter((v) => !(typeof v === 'number') || inRange(b, v))), doubles.map((v) => new RawJson(v.toExponential())));
}

function invalidNumber(schema: JsonSchema, integer: boolean): fc.Arbitrary<{ value: unknown; why: string }>[] {
  const b = boundsOf(schema);
  const out: (number | RawJson)[] = [];
  if (b.min > -Number.MAX_VALUE) out.push(b.exclusiveMin ? b.min : b.min - 1, new RawJson('-1e400'), -Number.MAX_VALUE);
  if (b.max < Number.MAX_VALUE) out.push(b.exclusiveMax ? b.max : b.max + 1, new RawJson('1e400'), Number.MAX_VALUE);
  if (integer) out.push(1.5, new RawJson('1.0000000000000002'));
  return out.length ? [fc.constantFrom(...out).map((value) => ({ value, why: 'out of range or not an integer' }))] : [];
}

/** A value of each JSON type; the ones the schema does not allow are wrong types. */
const OTHER_TYPES: Record<string, unknown[]> = {
  string: ['1', 'true', 'NaN', 'Infinity', '-0', '1e400', ''],
  number: [0, -1, 1.5, new RawJson('-0'), new RawJson('1e400')],
  integer: [0, 7],
  boolean: [true, false],
  null: [null],
  object: [{}, { a: 1 }],
  array: [[], [1], [null]],
};

function wrongTypes(schema: JsonSchema): fc.Arbitrary<{ value: unknown; why: string }> | undefined {
  const allowed = new Set(typesOf(schema));
  if (allowed.size === 0) return undefined;
  if (allowed.has('number')) allowed.add('integer');
  const values = Object.entries(OTHER_TYPES)
    .filter(([t]) => !allowed.has(t) && !(t === 'integer' && allowed.has('number')))
    .flatMap(([, vs]) => vs)
    .filter((v) => !(allowed.has('integer') && ((typeof v === 'number' && Number.isInteger(v)) || (v instanceof RawJson && v.text === '-0'))));
  return values.length ? fc.constantFrom(...values).map((value) => ({ value, why: `wrong type (${toJson(value).slice(0, 20)})` })) : undefined;
}

/**
 * Nesting deep enough to hurt a recursive parser or validator: `[[[…]]]`, or `{"a":{"a":…}}` where an
 * object is not allowed at all (in place of an object it would be valid: unknown fields are dropped).
 */
const deeplyNested = (objectsToo: boolean) =>
  fc.tuple(fc.integer({ min: 100, max: 20_000 }), fc.boolean()).map(([depth, arrays]) =>
    new RawJson(arrays || !objectsToo ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  );

/** Extra fields a client might hope the server trusts; `additionalProperties: false` drops them. */
const EXTRA_FIELDS = fc.constantFrom<Record<string, unknown>>({ role: 'admin' }, { id: '00000000-0000-0000-0000-000000000000' }, { is_admin: true }, { status: 'delivered' }, { unknown: 'x'.repeat(1000) }, { total_cents: 0 });

export interface ValueContext {
  resolve: (schema: JsonSchema) => JsonSchema;
  /** Real values for a field at `path` (e.g. `body.restaurant_id`, `body.items.menu_item_id`). */
  hint: (path: string) => fc.Arbitrary<string> | undefined;
}

function mergeAllOf(schema: JsonSchema, vc: ValueContext): JsonSchema {
  const parts = (schema.allOf as JsonSchema[]).map((s) => vc.resolve(s));
  return {
    type: 'object',
    properties: Object.assign({}, ...parts.map((p) => p.properties ?? {})),
    required: parts.flatMap((p) => (p.required as string[] | undefined) ?? []),
  };
}

/** Values that match `schema`; with `boundary`, the edges of what it allows. */
export function validValue(schema0: JsonSchema, vc: ValueContext, path: string, boundary = false): fc.Arbitrary<unknown> {
  let schema = vc.resolve(schema0);
  if (schema.allOf) schema = mergeAllOf(schema, vc);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (union) return fc.oneof(...union.map((s) => validValue(s, vc, path, boundary)));
  const types = typesOf(schema);
  if (types.length > 1) return fc.oneof(...types.map((type) => validValue({ ...schema, type }, vc, path, boundary)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return validNumber(schema, true, boundary);
    case 'number':
      return validNumber(schema, false, boundary);
    case 'string':
      return validString(schema, vc.hint(path), boundary);
    case 'array': {
      const items = (schema.items ?? {}) as JsonSchema;
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : min + 8;
      const item = validValue(items, vc, path, boundary);
      if (boundary) return fc.constantFrom(min, max).chain((n) => fc.array(item, { minLength: n, maxLength: n }));
      return fc.array(item, { minLength: min, maxLength: Math.min(max, min + 4) });
    }
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required as string[] | undefined) ?? [];
      const model = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, validValue(s, vc, `${path}.${k}`, boundary)]));
      const minProperties = typeof schema.minProperties === 'number' ? schema.minProperties : 0;
      const record = fc.record(model, { requiredKeys: required }).filter((o) => Object.keys(o).length >= minProperties);
      if (schema.additionalProperties !== false) return record;
      return fc.oneof({ weight: 4, arbitrary: record }, { weight: 1, arbitrary: fc.tuple(record, EXTRA_FIELDS).map(([o, extra]) => ({ ...extra, ...o })) });
    }
    default:
      return fc.constant(null);
  }
}

/** Values that cannot match `schema`, each with what is wrong with it. */
export function invalidValue(schema0: JsonSchema, vc: ValueContext, path: string): fc.Arbitrary<{ value: unknown; why: string }> | undefined {
  let schema = vc.resolve(schema0);
  if (schema.allOf) schema = mergeAllOf(schema, vc);
  const at = (why: string) => `${path}: ${why}`;
  const tagged = (arb: fc.Arbitrary<{ value: unknown; why: string }>) => arb.map(({ value, why }) => ({ value, why: at(why) }));
  const options: fc.Arbitrary<{ value: unknown; why: string }>[] = [];
  if ('const' in schema || Array.isArray(schema.enum)) {
    const allowed = 'const' in schema ? [schema.const] : (schema.enum as unknown[]);
    options.push(fc.constantFrom('not-one-of-them', 42, null, {}).filter((v) => !allowed.includes(v)).map((value) => ({ value, why: at('not one of the allowed values') })));
    return fc.oneof(...options);
  }
  const union = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (union) {
    const allowed = new Set(union.flatMap((s) => typesOf(vc.resolve(s))));
    const wrong = wrongTypes({ type: [...allowed] });
    return wrong && tagged(wrong);
  }
  const wrong = wrongTypes(schema);
  if (wrong) options.push(tagged(wrong));
  const types = typesOf(schema);
  if (!types.includes('array')) options.push(deeplyNested(!types.includes('object')).map((value) => ({ value, why: at('deeply nested value instead') })));
  switch (typesOf(schema).length === 1 ? typesOf(schema)[0] : undefined) {
    case 'string':
      options.push(...invalidString(schema, 64 * 1024).map((a) => a.map(({ value, why }) => ({ value: value as unknown, why: at(why) }))));
      break;
    case 'integer':
    case 'number':
      options.push(...invalidNumber(schema, schema.type === 'integer').map(tagged));
      break;
    case 'array': {
      const items = (schema.items ?? {}) as JsonSchema;
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : undefined;
      const item = validValue(items, vc, path);
      if (max !== undefined) options.push(fc.array(item, { minLength: max + 1, maxLength: max + 3 }).map((value) => ({ value, why: at(`more than ${max} items`) })));
      if (min > 0) options.push(fc.array(item, { minLength: min - 1, maxLength: min - 1 }).map((value) => ({ value, why: at(`fewer than ${min} items`) })));
      const badItem = invalidValue(items, vc, `${path}[]`);
      if (badItem) {
        options.push(
          fc.tuple(fc.array(item, { minLength: Math.max(min, 1), maxLength: Math.max(min, 1) + 2 }), badItem, fc.nat()).map(([arr, bad, i]) => {
            const copy: unknown[] = [...arr];
            copy[i % copy.length] = bad.value;
            return { value: copy, why: bad.why };
          }),
        );
      }
      break;
    }
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required as string[] | undefined) ?? [];
      const whole = validValue(schema, vc, path);
      if (required.length) {
        options.push(fc.tuple(whole, fc.constantFrom(...required)).map(([o, k]) => {
          const copy = { ...(o as Record<string, unknown>) };
          delete copy[k];
          return { value: copy, why: at(`missing ${k}`) };
        }));
      }
      const spoilable = Object.entries(props).flatMap(([k, s]) => {
        const bad = invalidValue(s, vc, `${path}.${k}`);
        return bad ? [bad.map((b) => ({ k, b }))] : [];
      });
      if (spoilable.length) {
        options.push(fc.tuple(whole, fc.oneof(...spoilable)).map(([o, { k, b }]) => ({ value: { ...(o as Record<string, unknown>), [k]: b.value }, why: b.why })));
      }
      if (typeof schema.minProperties === 'number' && schema.minProperties > 0) options.push(fc.constant({ value: {}, why: at('no properties') }));
      break;
    }
  }
  return options.length ? fc.oneof(...options) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Text values: path, query and header parameters, coerced by Ajv

function validText(schema0: JsonSchema, vc: ValueContext, path: string, boundary: boolean): fc.Arbitrary<string> {
  const schema = vc.resolve(schema0);
  const type = typesOf(schema)[0];
  if (type === 'string') return validString(schema, vc.hint(path), boundary);
  return validValue(schema, vc, path, boundary).map((v) => (v instanceof RawJson ? v.text : String(v)));
}

/** Text that cannot match `schema` even after coercion. */
function invalidText(schema0: JsonSchema, vc: ValueContext): fc.Arbitrary<{ value: string; why: string }> | undefined {
  const schema = vc.resolve(schema0);
  const type = typesOf(schema)[0];
  if (type === 'string') {
    // Node refuses request lines and headers over 16 KiB, so longer text in a URL or header never arrives.
    const opts = invalidString(schema, 8 * 1024);
    return opts.length ? fc.oneof(...opts) : undefined;
  }
  if (type === 'integer' || type === 'number') {
    const b = boundsOf(schema);
    const bad = ['', 'abc', 'NaN', 'null', '1,5', '٣', '0x', '--1', '1e'];
    if (b.max < Number.MAX_VALUE) bad.push(String(b.exclusiveMax ? b.max : b.max + 1), 'Infinity', '1e400', '9'.repeat(400));
    if (b.min > -Number.MAX_VALUE) bad.push(String(b.exclusiveMin ? b.min : b.min - 1), '-Infinity', '-1e400');
    if (type === 'integer') bad.push('1.5', '2.000001');
    return fc.constantFrom(...bad).map((value) => ({ value, why: `${JSON.stringify(value.slice(0, 20))} is not a valid ${type}` }));
  }
  if (type === 'boolean') return fc.constantFrom('', 'yes', '2', 'TRUE ').map((value) => ({ value, why: 'not a boolean' }));
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Requests

const JSON_TYPE = 'application/json';
const WRONG_TYPES = ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'image/png'];
/** Percent-escapes that do not decode: the router refuses them before any route runs. */
const BROKEN_ESCAPES = ['%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF', `${'%E2%82%AC'.repeat(40)}`];
const MALFORMED = ['{', '{"a":', '[1,]', "{'a':1}", 'nul', '{"a":1}garbage', '{"a":1,}', '"\\u00"', '\u0000', '{"a":"\u0000', '{"a":NaN}', '{"a":Infinity}', '{"a":undefined}', '{"a":01}'];

interface Parts {
  path: Record<string, string>;
  /** Path segments sent as they are, not percent-encoded: broken escapes. */
  rawPath?: Record<string, string>;
  query: [string, string][];
  headers: Record<string, string>;
  body?: { payload: string; type?: string };
}

const enc = (s: string) => encodeURIComponent(s.toWellFormed());

function urlOf(op: Operation, parts: Parts) {
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => parts.rawPath?.[name] ?? enc(parts.path[name] ?? ''));
  const query = parts.query.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  return query ? `${path}?${query}` : path;
}

const valueContext = (op: Operation, fx: FuzzContext): ValueContext => ({ resolve: fx.resolve, hint: (path) => fx.hint(op, path) });

function pickIdentity(op: Operation, fx: FuzzContext): fc.Arbitrary<Identity> {
  const preferred = fx.identities.filter((i) => i.role && fx.preferredRoles(op).includes(i.role) && !i.name.startsWith('ghost'));
  const any = fc.oneof(...fx.identities.map((i) => ({ weight: i.weight ?? 1, arbitrary: fc.constant(i) })));
  return preferred.length ? fc.oneof(fc.constantFrom(...preferred), any) : any;
}

/** Every part valid (`boundary`: at the edges of what the schema allows); a few unknown query parameters. */
function validParts(op: Operation, fx: FuzzContext, boundary: boolean): fc.Arbitrary<Parts> {
  const vc = valueContext(op, fx);
  const path = fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, validText(p.schema, vc, `path.${p.name}`, boundary)])));
  const query = fc.tuple(
    ...op.query.map((p) => {
      const value = validText(p.schema, vc, `query.${p.name}`, boundary).map((v): [string, string][] => [[p.name, v]]);
      const mustSend = p.required && p.schema.default === undefined;
      return mustSend ? value : fc.oneof(value, fc.constant<[string, string][]>([]));
    }),
    fc.oneof({ weight: 4, arbitrary: fc.constant<[string, string][]>([]) }, { weight: 1, arbitrary: fc.constantFrom<[string, string][]>([['unknown', '1']], [['debug', 'true']], [['__proto__', 'x']], [['role', 'admin']]) }),
  ).map((groups) => groups.flat());
  const headers = fc.record(Object.fromEntries(op.headers.map((p) => [p.name, validText(p.schema, vc, `header.${p.name}`, boundary)])));
  const realistic = fx.realisticBody?.(op);
  const schemaBody = op.body && validValue(op.body, vc, 'body', boundary);
  const bodyValue = schemaBody && (realistic && !boundary ? fc.oneof(schemaBody, realistic) : schemaBody);
  const body = bodyValue
    ? bodyValue.map((v) => ({ payload: toJson(v), type: JSON_TYPE }))
    : fc.constant(undefined);
  return fc.record({ path, query, headers, body }).map((p) => p as Parts);
}

/** One part spoiled so the request cannot match the schema. */
function invalidParts(op: Operation, fx: FuzzContext): fc.Arbitrary<{ parts: Parts; why: string }> | undefined {
  const vc = valueContext(op, fx);
  const base = validParts(op, fx, false);
  const spoil: fc.Arbitrary<{ parts: Parts; why: string }>[] = [];
  for (const p of op.pathParams) {
    const bad = invalidText(p.schema, vc);
    if (bad) spoil.push(fc.tuple(base, bad).map(([parts, b]) => ({ parts: { ...parts, path: { ...parts.path, [p.name]: b.value } }, why: `path ${p.name}: ${b.why}` })));
    spoil.push(fc.tuple(base, fc.constantFrom(...BROKEN_ESCAPES)).map(([parts, raw]) => ({ parts: { ...parts, rawPath: { [p.name]: raw } }, why: `path ${p.name}: raw ${raw}` })));
  }
  for (const p of op.query) {
    const bad = invalidText(p.schema, vc);
    const without = (parts: Parts) => parts.query.filter(([k]) => k !== p.name);
    if (bad) spoil.push(fc.tuple(base, bad).map(([parts, b]) => ({ parts: { ...parts, query: [...without(parts), [p.name, b.value]] }, why: `query ${p.name}: ${b.why}` })));
    if (p.required && p.schema.default === undefined) spoil.push(base.map((parts) => ({ parts: { ...parts, query: without(parts) }, why: `query ${p.name} missing` })));
  }
  for (const p of op.headers) {
    const bad = fc.constantFrom('', 'short', 'has space in it', 'x'.repeat(256), 'caf\u00e9-latin1-key', 'tab\there-key');
    spoil.push(fc.tuple(base, bad).map(([parts, value]) => ({ parts: { ...parts, headers: { ...parts.headers, [p.name]: value } }, why: `header ${p.name}: ${JSON.stringify(value.slice(0, 20))}` })));
    if (p.required) {
      spoil.push(base.map((parts) => {
        const headers = { ...parts.headers };
        delete headers[p.name];
        return { parts: { ...parts, headers }, why: `header ${p.name} missing` };
      }));
    }
  }
  if (op.body) {
    const withBody = (payload: string, type: string | undefined, why: string) => (parts: Parts) => ({ parts: { ...parts, body: { payload, type } }, why });
    const bad = invalidValue(op.body, vc, 'body');
    if (bad) spoil.push(fc.tuple(base, bad).map(([parts, b]) => withBody(toJson(b.value), JSON_TYPE, b.why)(parts)));
    spoil.push(fc.tuple(base, fc.constantFrom(...MALFORMED)).map(([parts, m]) => withBody(m, JSON_TYPE, `malformed JSON ${JSON.stringify(m)}`)(parts)));
    spoil.push(base.map((parts) => withBody('', JSON_TYPE, 'empty JSON body')(parts)));
    spoil.push(fc.tuple(base, fc.constantFrom(...WRONG_TYPES)).map(([parts, type]) => withBody(parts.body?.payload ?? '{}', type, `content-type ${type}`)(parts)));
    spoil.push(base.map((parts) => withBody(`{"__proto__":{"role":"admin"},${(parts.body?.payload ?? '{}').slice(1)}`.replace(/,}$/, '}'), JSON_TYPE, 'prototype poisoning')(parts)));
    spoil.push(base.map((parts) => withBody(`{"pad":"${'x'.repeat(1024 * 1024)}"}`, JSON_TYPE, 'body over 1 MiB')(parts)));
    // A bare POST is a valid action (no reason), so a missing body is invalid only when the body requires something.
    const body = fx.resolve(op.body);
    if (((body.required as string[] | undefined) ?? []).length > 0 || typeof body.minProperties === 'number') {
      spoil.push(base.map((parts) => ({ parts: { ...parts, body: undefined }, why: 'no body' })));
    }
  }
  return spoil.length ? fc.oneof(...spoil) : undefined;
}

/** Requests that are odd in ways the schema alone does not decide. */
function eitherParts(op: Operation, fx: FuzzContext): fc.Arbitrary<{ parts: Parts; why: string }> {
  const base = validParts(op, fx, false);
  const odd: fc.Arbitrary<{ parts: Parts; why: string }>[] = [
    base.map((parts) => ({ parts: { ...parts, query: [...parts.query, ...parts.query] }, why: 'every query parameter twice' })),
    fc.tuple(base, fc.constantFrom('a', 'a[b]', 'a.b', '', '%00')).map(([parts, k]) => ({ parts: { ...parts, query: [...parts.query, [k, 'x'.repeat(4096)]] }, why: `unknown query parameter ${JSON.stringify(k)}` })),
  ];
  if (op.body) {
    odd.push(base.map((parts) => ({ parts: { ...parts, body: parts.body && { payload: `\uFEFF${parts.body.payload}`, type: JSON_TYPE } }, why: 'body with a BOM' })));
    odd.push(fc.tuple(base, fc.constantFrom('application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=latin1', 'application/json;', 'application/vnd.api+json')).map(([parts, type]) => ({ parts: { ...parts, body: parts.body && { ...parts.body, type } }, why: `content-type ${type}` })));
    odd.push(base.map((parts) => ({ parts: { ...parts, body: parts.body && { payload: 'null', type: JSON_TYPE } }, why: 'body null' })));
  } else {
    odd.push(base.map((parts) => ({ parts: { ...parts, body: { payload: '{"ignored":true}', type: JSON_TYPE } }, why: 'a body where none is expected' })));
  }
  return fc.oneof(...odd);
}

function assemble(op: Operation, parts: Parts, identity: Identity, kind: Kind, why: string): FuzzRequest {
  const headers: Record<string, string> = { ...parts.headers };
  if (identity.authorization !== undefined) headers.authorization = identity.authorization;
  if (parts.body?.type) headers['content-type'] = parts.body.type;
  // A request a token cannot get past is refused however well formed the rest is.
  const refused = op.secured && identity.rejected;
  return {
    op: op.key,
    kind: refused ? 'invalid' : kind,
    why: refused ? `${why}; token: ${identity.name}` : why,
    identity: identity.name,
    method: op.method,
    url: urlOf(op, parts),
    headers,
    payload: parts.body?.payload,
  };
}

/** Any request for `op`: valid, boundary, invalid or odd, from any identity. */
export function requestArbitrary(op: Operation, fx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const identity = pickIdentity(op, fx);
  const costly = fx.costly(op);
  const kinds: fc.WeightedArbitrary<FuzzRequest>[] = [
    { weight: costly ? 1 : 4, arbitrary: fc.tuple(validParts(op, fx, false), identity).map(([p, i]) => assemble(op, p, i, 'valid', 'valid')) },
    { weight: costly ? 1 : 2, arbitrary: fc.tuple(validParts(op, fx, true), identity).map(([p, i]) => assemble(op, p, i, 'valid', 'boundary')) },
    { weight: 1, arbitrary: fc.tuple(eitherParts(op, fx), identity).map(([p, i]) => assemble(op, p.parts, i, 'either', p.why)) },
  ];
  const invalid = invalidRequestArbitrary(op, fx);
  if (invalid) kinds.push({ weight: costly ? 8 : 4, arbitrary: invalid });
  return fc.oneof(...kinds);
}

/** Requests for `op` whose every part matches the schema (typical or boundary), from any identity. */
export function validRequestArbitrary(op: Operation, fx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const identity = pickIdentity(op, fx);
  return fc.oneof(
    fc.tuple(validParts(op, fx, false), identity).map(([p, i]) => assemble(op, p, i, 'valid', 'valid')),
    fc.tuple(validParts(op, fx, true), identity).map(([p, i]) => assemble(op, p, i, 'valid', 'boundary')),
  );
}

/** Requests for `op` that are invalid by construction (a spoiled part, or a token that cannot pass), or undefined if it has none. */
export function invalidRequestArbitrary(op: Operation, fx: FuzzContext): fc.Arbitrary<FuzzRequest> | undefined {
  const spoiled = invalidParts(op, fx);
  const rejected = fx.identities.filter((i) => i.rejected);
  const options: fc.Arbitrary<FuzzRequest>[] = [];
  if (spoiled) options.push(fc.tuple(spoiled, pickIdentity(op, fx)).map(([p, i]) => assemble(op, p.parts, i, 'invalid', p.why)));
  if (op.secured && rejected.length) {
    options.push(fc.tuple(validParts(op, fx, false), fc.constantFrom(...rejected)).map(([p, i]) => assemble(op, p, i, 'invalid', 'valid request')));
  }
  return options.length ? fc.oneof(...options) : undefined;
}
