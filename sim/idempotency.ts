import { type Reply, reply } from './http.ts';

interface Stored<T> {
  fingerprint: string;
  reply: Reply;
  note: T;
}

export type Lookup<T> =
  | { kind: 'new' }
  | { kind: 'replay'; reply: Reply; note: T }
  | { kind: 'conflict'; reply: Reply };

/**
 * First result per idempotency key, replayed verbatim. Like real gateways, a key reused for a different
 * request (other operation, target or amount) is refused with 422 rather than silently replayed, because
 * that is always a bug in the caller. `note` lets a partner keep what it needs to log a replay.
 */
export class IdempotencyStore<T = undefined> {
  #entries = new Map<string, Stored<T>>();

  lookup(key: string, fingerprint: string): Lookup<T> {
    const stored = this.#entries.get(key);
    if (stored === undefined) return { kind: 'new' };
    if (stored.fingerprint !== fingerprint) {
      return {
        kind: 'conflict',
        reply: reply(422, { error: 'idempotency_key was already used for a different request' }),
      };
    }
    return { kind: 'replay', reply: stored.reply, note: stored.note };
  }

  remember(key: string, fingerprint: string, result: Reply, note: T): Reply {
    this.#entries.set(key, { fingerprint, reply: result, note });
    return result;
  }

  clear(): void {
    this.#entries.clear();
  }
}
