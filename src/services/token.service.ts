import { createSigner, createVerifier } from 'fast-jwt';
import { type Principal, isRole } from '../domain/identity.ts';

/** HS256 bearer tokens: verification is one HMAC, cheap enough for every request. */
export class TokenService {
  readonly #sign: (payload: Record<string, unknown>) => string;
  readonly #verify: (token: string) => Record<string, unknown>;
  readonly ttlSeconds: number;

  constructor(secret: string, ttlSeconds: number) {
    this.ttlSeconds = ttlSeconds;
    this.#sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlSeconds * 1000, iss: 'dabba' });
    this.#verify = createVerifier({ key: secret, algorithms: ['HS256'], allowedIss: 'dabba', cache: 10_000 });
  }

  issue(p: Principal): string {
    return this.#sign({ sub: p.id, role: p.role });
  }

  /** Returns the principal, or undefined for any token that is missing, malformed, tampered or expired. */
  verify(token: string): Principal | undefined {
    try {
      const claims = this.#verify(token);
      const role = claims.role;
      if (typeof claims.sub !== 'string' || !isRole(role)) return undefined;
      return { id: claims.sub, role };
    } catch {
      return undefined;
    }
  }
}
