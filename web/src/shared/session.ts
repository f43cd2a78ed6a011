import { ApiError, api } from './api.ts';
import type { Role, Session, User } from './types.ts';

/** A signed-in person on one page: their token (bearer) and who they are. */
export interface Signed {
  token: string;
  user: User;
  expiresAt: number;
}

/**
 * Tokens live in sessionStorage, one per role: a tab keeps its sign-in across reloads and forgets it
 * when closed, and the four pages can be open side by side as four people. Signing out forgets the
 * token here only: `POST /v1/auth/logout` would end every session of the account, on every device.
 */
const key = (role: Role) => `dabba.session.${role}`;

export function loadSession(role: Role): Signed | null {
  const raw = sessionStorage.getItem(key(role));
  if (!raw) return null;
  try {
    const signed = JSON.parse(raw) as Signed;
    if (signed.user.role === role && signed.expiresAt > Date.now() + 60_000) return signed;
  } catch {
    // A value this page did not write: start again.
  }
  sessionStorage.removeItem(key(role));
  return null;
}

export async function signIn(role: Role, email: string, password: string): Promise<Signed> {
  const session = await api<Session>('/v1/auth/login', { method: 'POST', body: { email, password } });
  if (session.user.role !== role) {
    throw new ApiError(403, undefined, `${session.user.email} is a ${session.user.role} account; this page is for ${role} accounts.`);
  }
  const signed = { token: session.token, user: session.user, expiresAt: Date.now() + session.expires_in * 1000 };
  sessionStorage.setItem(key(role), JSON.stringify(signed));
  return signed;
}

export function forget(role: Role) {
  sessionStorage.removeItem(key(role));
}
