import Type, { type Static, type TNever, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * What a partner may answer, checked before anything of ours reads it. A partner is another company's
 * system: an answer outside these bounds is a `bad_response`, a failure like a timeout, never a value
 * that reaches a column, a cache or a customer. Extra fields are allowed (partners add them) and
 * ignored: each client copies out only what it reads.
 * @see https://github.com/sinclairzx81/typebox (Compile: one JIT-compiled checker per schema)
 */

/** The longest wait we quote or accept: beyond ten hours it is not a delivery, it is a broken model. */
export const MAX_MINUTES = 600;
/** One item's price, in minor units: 10,000.00 in the currency. Nothing on a food menu costs more. */
export const MAX_PRICE_CENTS = 1_000_000;
/** More items than any menu has; also what the catalog simulator accepts. */
export const MAX_MENU_ITEMS = 1_000;

/** Partner ids go into our URLs, our database and our logs: printable ASCII without spaces, bounded. */
export const PartnerId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });
/** Why a partner said no: stored in the order's status reason, so bounded. */
export const Reason = Type.String({ minLength: 1, maxLength: 200 });
export const Minutes = Type.Integer({ minimum: 0, maximum: MAX_MINUTES });
export const PriceCents = Type.Integer({ minimum: 0, maximum: MAX_PRICE_CENTS });
export const DateTime = Type.String({ format: 'date-time', maxLength: 64 });
/** For an answer whose body is never read: only its status matters. */
export const Unread = Type.Unknown();

/** What PartnerHttp needs of a compiled schema. */
export interface Check<T extends TSchema> {
  Check(value: unknown): value is Static<T>;
  Errors(value: unknown): { instancePath: string; message: string }[];
}

/**
 * The answers one call accepts: the body of any 2xx, and the 4xx statuses that are the partner's
 * "no" (an answer, not a failure) with their body. Any other status, or a body that does not match,
 * is a `bad_response` (see PartnerHttp).
 */
export interface Answers<Ok extends TSchema = TSchema, No extends TSchema = TSchema> {
  ok: Check<Ok>;
  no?: { statuses: readonly number[]; body: Check<No> };
}

/** A checked answer: `ok` tells a 2xx from one of the expected 4xx. */
export type Answer<Ok extends TSchema, No extends TSchema> =
  | { ok: true; status: number; body: Static<Ok> }
  | { ok: false; status: number; body: Static<No> };

/** Compiles a call's answer schemas once, at module load, not per call. */
export function answers<Ok extends TSchema, No extends TSchema = TNever>(spec: {
  ok: Ok;
  no?: { statuses: readonly number[]; body: No };
}): Answers<Ok, No> {
  return {
    ok: Compile<Ok>(spec.ok),
    ...(spec.no ? { no: { statuses: spec.no.statuses, body: Compile<No>(spec.no.body) } } : {}),
  };
}

/** The first reason a body failed its schema, for the error message (never the value itself). */
export function firstProblem(check: Check<TSchema>, body: unknown): string {
  const [first] = check.Errors(body);
  return first ? `${first.instancePath || '/'} ${first.message}` : 'does not match';
}
