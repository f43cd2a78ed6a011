import { badRequest } from '../errors.ts';

/**
 * Opaque keyset cursors: the client gets base64url text and hands it back unchanged. A cursor that
 * does not decode to the expected tuple is the client's error, never a 500.
 */
export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

type Kind = 'string' | 'number' | 'uuid' | 'timestamp';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** `uuid` and `timestamp` are strings the database will cast: anything else there would fail in SQL (a 500). */
function fits(v: unknown, kind: Kind): boolean {
  if (kind === 'number') return typeof v === 'number' && Number.isFinite(v);
  if (typeof v !== 'string') return false;
  if (kind === 'uuid') return UUID.test(v);
  // Exactly what encodeCursor writes (toISOString), for years PostgreSQL accepts.
  if (kind === 'timestamp') return ISO.test(v) && !v.startsWith('0000') && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v;
  return true;
}

export function decodeCursor<const T extends readonly Kind[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends 'number' ? number : string } {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    values = undefined;
  }
  const valid = Array.isArray(values) && values.length === shape.length && values.every((v, i) => fits(v, shape[i]!));
  if (!valid) throw badRequest('The cursor is not one this server issued.', [{ field: 'querystring/cursor', message: 'invalid cursor' }]);
  return values as never;
}
