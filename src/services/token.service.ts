import { createSigner, createVerifier } from 'fast-jwt';
import { type Principal, isRole } from '../domain/identity.ts';

/** Who issues dabba's tokens and whom they are for: a token minted for anything else is refused. */
export const TOKEN_ISSUER = 'dabba';
export const TOKEN_AUDIENCE = 'dabba-api';
/** Stream tickets: for opening a live stream from a browser (`?ticket=`), which cannot set headers; never an API token. */
export const TICKET_AUDIENCE = 'dabba-stream';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A verified token's claims: the principal and the account's token version it was issued under. */
export interface TokenClaims extends Principal {
  version: number;
}

/**
 * HS256 bearer tokens: verification is one HMAC, cheap enough for every request. Every token carries
 * `sub`, `role`, `ver` (the account's token version), `iss`, `aud`, `iat` and `exp`, and a token
 * missing any of them, or naming another issuer or audience, is refused (RFC 8725 §3.8–3.9). Whether
 * the version and role are still the account's is the AuthService's question, not this one's.
 * @see https://www.rfc-editor.org/rfc/rfc8725
 */
export class TokenService {
  readonly #sign: (payload: Record<string, unknown>) => string;
  readonly #verify: (token: string) => Record<string, unknown>;
  readonly #signTicket: (payload: Record<string, unknown>) => string;
  readonly #verifyTicket: (token: string) => Record<string, unknown>;
  readonly ttlSeconds: number;
  readonly ticketTtlSeconds: number;

  constructor(secret: string, ttlSeconds: number, ticketTtlSeconds = 30) {
    this.ttlSeconds = ttlSeconds;
    this.ticketTtlSeconds = ticketTtlSeconds;
    // Same secret and claims, another audience: each verifier refuses the other's tokens.
    [this.#sign, this.#verify] = signerAndVerifier(secret, TOKEN_AUDIENCE, ttlSeconds, 10_000);
    [this.#signTicket, this.#verifyTicket] = signerAndVerifier(secret, TICKET_AUDIENCE, ticketTtlSeconds, 0);
  }

  /** `version` defaults to a new account's (1); a wrong one fails safe: the token is refused. */
  issue(p: Principal & { version?: number }): string {
    return this.#sign({ sub: p.id, role: p.role, ver: p.version ?? 1 });
  }

  /** Returns the claims, or undefined for any token that is missing, malformed, tampered, expired or not dabba's. */
  verify(token: string): TokenClaims | undefined {
    return claimsOf(this.#verify, token);
  }

  /** A short-lived ticket (STREAM_TICKET_TTL_SECONDS) for the same principal and token version. */
  issueTicket(p: Principal & { version: number }): string {
    return this.#signTicket({ sub: p.id, role: p.role, ver: p.version });
  }

  /** Like `verify`, for stream tickets only. */
  verifyTicket(ticket: string): TokenClaims | undefined {
    return claimsOf(this.#verifyTicket, ticket);
  }
}

/** HS256 tokens for one audience: signed with `iss`, `aud` and `exp`; verified only with every claim dabba requires. */
function signerAndVerifier(key: string, audience: string, ttlSeconds: number, cache: number) {
  const sign = createSigner({ key, algorithm: 'HS256', expiresIn: ttlSeconds * 1000, iss: TOKEN_ISSUER, aud: audience });
  const verify = createVerifier({
    key,
    algorithms: ['HS256'],
    allowedIss: TOKEN_ISSUER,
    allowedAud: audience,
    requiredClaims: ['sub', 'role', 'ver', 'iss', 'aud', 'iat', 'exp'],
    cache,
  });
  return [sign, verify] as const;
}

function claimsOf(verify: (token: string) => Record<string, unknown>, token: string): TokenClaims | undefined {
  try {
    const { sub, role, ver } = verify(token);
    if (typeof sub !== 'string' || !UUID.test(sub) || !isRole(role) || !Number.isSafeInteger(ver)) return undefined;
    return { id: sub, role, version: ver as number };
  } catch {
    return undefined;
  }
}
