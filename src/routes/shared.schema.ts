import Type, { type TSchema, type TStringOptions } from 'typebox';

/**
 * Free text never holds NUL: PostgreSQL refuses `\u0000` in `text`, so it would end as a 500 after
 * the work was done, and a trailing NUL is invisible to scrypt (HMAC zero-pads its key). Checked
 * with the schema, so the 400 names the field.
 * @see https://www.postgresql.org/docs/current/datatype-character.html
 */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';
export const Text = (options: Omit<TStringOptions, 'pattern'> = {}) => Type.String({ ...options, pattern: NO_NUL_PATTERN });

export const Uuid = Type.String({ format: 'uuid' });
export const Latitude = Type.Number({ minimum: -90, maximum: 90 });
export const Longitude = Type.Number({ minimum: -180, maximum: 180 });
export const Cents = Type.Integer({ minimum: 0 });
/** Repositories return Dates; the serialiser writes them as RFC 3339 strings. */
export const Timestamp = Type.Unsafe<Date | string>(Type.String({ format: 'date-time' }));
export const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' });

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

/** RFC 9457 problem details, with field-level `errors` for validation failures. */
export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
    errors_truncated: Type.Optional(
      Type.Boolean({ description: 'true: `errors` lists only some of the problems (at most 20, or the first for a large body)' }),
    ),
    current_status: Type.Optional(Type.String()),
    changes: Type.Optional(
      Type.Array(
        Type.Object({ field: Type.String(), menu_item_id: Type.String(), shown_cents: Type.Integer(), now_cents: Type.Integer() }),
        { description: 'price-changed: each line whose price is not the one shown' },
      ),
    ),
    orders: Type.Optional(Type.Array(Type.String(), { description: 'conflict going off shift: the orders the courier is carrying' })),
  },
  { $id: 'Problem' },
);

const problemRef = Type.Unsafe({ $ref: 'Problem#', contentMediaType: 'application/problem+json' });

/** Every route lists the problems it can answer with, so the OpenAPI document shows them. */
export function problems(...codes: number[]) {
  return Object.fromEntries(codes.map((c) => [c, problemRef])) as Record<number, TSchema>;
}

export function page<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });
}
