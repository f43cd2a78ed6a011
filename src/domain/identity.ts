/** Who can hold an account, and so sign a request. */
export const ROLES = ['customer', 'restaurant', 'courier', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who can move an order: a signed-in person, or dabba itself (checkout, the sweeper, dispatch). */
export type ActorRole = Role | 'system';

/** The signed-in caller, as the bearer token names them. */
export interface Principal {
  id: string;
  role: Role;
  /** The account's token version the token was issued under, when signed in by one: a live connection checks it again while it lasts. */
  tokenVersion?: number;
}

/** Whoever makes a move: a person (their principal) or the system (no id). */
export interface Actor {
  id: string | null;
  role: ActorRole;
}

export const SYSTEM: Actor = { id: null, role: 'system' };

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
