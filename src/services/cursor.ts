import { badRequest } from '../errors.ts';

/**
 * Opaque keyset cursors: the client gets base64url text and hands it back unchanged. A cursor that
 * does not decode to the expected tuple is the client's error, never a 500.
 */
export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor<const T extends readonly ('string' | 'number')[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends 'string' ? string : number } {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    values = undefined;
  }
  const fits =
    Array.isArray(values) &&
    values.length === shape.length &&
    values.every((v, i) => typeof v === shape[i] && (typeof v !== 'number' || Number.isFinite(v)));
  if (!fits) throw badRequest('The cursor is not one this server issued.', [{ field: 'querystring/cursor', message: 'invalid cursor' }]);
  return values as never;
}
