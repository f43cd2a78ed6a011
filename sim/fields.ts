import { type Reply, reply } from './http.ts';

/** Field path → what is wrong with it; the shape every 400 from the sim carries. */
export type FieldErrors = Record<string, string>;

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const invalid = (fields: FieldErrors): Reply => reply(400, { error: 'invalid request', fields });

export const hasErrors = (fields: FieldErrors): boolean => {
  for (const _ in fields) return true;
  return false;
};

export function str(body: Record<string, unknown>, field: string, errors: FieldErrors): string {
  const v = body[field];
  if (typeof v === 'string' && v.length > 0 && v.length <= 200) return v;
  errors[field] = 'must be a non-empty string of at most 200 characters';
  return '';
}

export function int(body: Record<string, unknown>, field: string, errors: FieldErrors, min: number): number {
  const v = body[field];
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return v;
  errors[field] = `must be an integer >= ${min}`;
  return 0;
}

export function optionalInt(
  body: Record<string, unknown>,
  field: string,
  errors: FieldErrors,
  min: number,
): number | undefined {
  return body[field] === undefined ? undefined : int(body, field, errors, min);
}

/** Every write endpoint takes a JSON object; this turns anything else into one uniform error. */
export function objectBody(body: unknown, errors: FieldErrors): Record<string, unknown> {
  if (isObject(body)) return body;
  errors['body'] = 'must be a JSON object';
  return {};
}
