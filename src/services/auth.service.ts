import { LRUCache } from 'lru-cache';
import type { UserRepository } from '../db/repositories/user.repository.ts';
import { AppError, conflict, notFound, unauthorized } from '../errors.ts';
import { DECOY_HASH, hashPassword, verifyPassword } from './password-hasher.ts';
import type { Principal, Role } from '../domain/identity.ts';
import type { TokenClaims, TokenService } from './token.service.ts';

const invalidCredentials = () =>
  new AppError(401, 'invalid-credentials', 'Invalid credentials', 'The email or password is wrong.');

/** Too many failed sign-ins for one email: the same answer whether or not an account has that email. */
export class LoginLockedOut extends AppError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super(429, 'too-many-sign-in-attempts', 'Too many requests', 'Too many failed sign-ins for this email; try again after Retry-After seconds.');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface AuthOptions {
  /** How long a node trusts its copy of an account's role and token version (0: not at all). */
  cacheTtlMs: number;
  /** Failed sign-ins per email, within `lockoutSeconds` of the first, before the email is locked out. */
  maxFailures: number;
  lockoutSeconds: number;
}

/** What a token is checked against; `role: null` is an account that no longer exists. */
interface AccountState {
  role: Role | null;
  version: number;
}
const NO_ACCOUNT: AccountState = { role: null, version: 0 };
/** Every this many counted sign-in attempts, the process prunes counts that no longer matter. */
const PRUNE_EVERY = 100;

export class AuthService {
  readonly #users: UserRepository;
  readonly #tokens: TokenService;
  readonly #options: AuthOptions;
  /**
   * Account states by id, so a request costs no query: a logout, role change or deletion made
   * elsewhere reaches this node within `cacheTtlMs`; one made here evicts the entry at once. Concurrent
   * misses for one account share one query (lru-cache's fetch).
   * @see https://github.com/isaacs/node-lru-cache#fetch
   */
  readonly #accounts: LRUCache<string, AccountState> | undefined;
  readonly #signedOut: ((userId: string) => void)[] = [];
  #attempts = 0;

  constructor(users: UserRepository, tokens: TokenService, options: AuthOptions) {
    this.#users = users;
    this.#tokens = tokens;
    this.#options = options;
    this.#accounts =
      options.cacheTtlMs > 0
        ? new LRUCache<string, AccountState>({ max: 50_000, ttl: options.cacheTtlMs, fetchMethod: (id) => this.#load(id) })
        : undefined;
  }

  /**
   * The principal a bearer token names, or undefined when the token is not a valid dabba token or no
   * longer matches its account: logged out (version bumped), role changed, or account deleted.
   */
  async authenticate(token: string): Promise<Principal | undefined> {
    return this.#current(this.#tokens.verify(token));
  }

  /** Like `authenticate`, for a stream ticket (`?ticket=` on a live stream); an API token is not a ticket. */
  async authenticateTicket(ticket: string): Promise<Principal | undefined> {
    return this.#current(this.#tokens.verifyTicket(ticket));
  }

  /**
   * A short-lived ticket for opening live streams where headers cannot be set (a browser's EventSource
   * or WebSocket), under the account's current token version: a logout revokes tickets too.
   */
  async streamTicket(who: Principal) {
    const account = await this.#account(who.id);
    if (!account || account.role !== who.role) throw unauthorized();
    return { ticket: this.#tokens.issueTicket({ ...who, version: account.version }), expires_in: this.#tokens.ticketTtlSeconds };
  }

  async #current(claims: TokenClaims | undefined): Promise<Principal | undefined> {
    if (!claims) return undefined;
    const account = await this.#account(claims.id);
    if (!account || account.role !== claims.role || account.version !== claims.version) return undefined;
    return { id: claims.id, role: claims.role, tokenVersion: claims.version };
  }

  /**
   * Which of these principals, signed in earlier, no longer hold: logged out since (token version
   * bumped), role changed, or account deleted. One query for them all, never the cache: a connection
   * that lasts hours asks now and then, and must see a logout made on any node.
   */
  async revokedAmong(who: readonly Principal[]): Promise<Set<string>> {
    if (who.length === 0) return new Set();
    const current = new Map((await this.#users.tokenStates(who.map((p) => p.id))).map((row) => [row.id, row]));
    const revoked = new Set<string>();
    for (const p of who) {
      const row = current.get(p.id);
      if (!row || row.role !== p.role || (p.tokenVersion !== undefined && row.token_version !== p.tokenVersion)) revoked.add(p.id);
    }
    return revoked;
  }

  /** Called after every logout made on this node, so whatever holds that account's live connections can end them. */
  onSignedOut(listener: (userId: string) => void) {
    this.#signedOut.push(listener);
  }

  /**
   * The account's state, from this node's cache when it has it. An evict (a logout here) while the
   * cache was loading it aborts that load, and lru-cache rejects the fetch: read it afresh instead,
   * which is what the evict asked for (a database failure still throws).
   */
  async #account(id: string) {
    if (!this.#accounts) return this.#load(id);
    try {
      return await this.#accounts.fetch(id);
    } catch {
      return this.#load(id);
    }
  }

  /** Logging out everywhere: every token the account holds, on every device, stops working. */
  async logout(who: Principal) {
    await this.#users.bumpTokenVersion(who.id);
    this.evict(who.id);
    for (const listener of this.#signedOut) listener(who.id);
  }

  /**
   * Forgets this node's copy of an account's state, so a change made here (role, deletion, version)
   * holds on this node's very next request; other nodes see it within `cacheTtlMs`.
   */
  evict(userId: string) {
    this.#accounts?.delete(userId);
  }

  /** Self-registration creates customers only; other roles are provisioned by an admin or the seed. */
  async register(input: { email: string; password: string; name: string }) {
    const user = await this.#users.insert({
      email: input.email,
      name: input.name,
      role: 'customer',
      password_hash: await hashPassword(input.password),
    });
    if (!user) throw conflict('An account with this email already exists.');
    const { token_version, ...publicUser } = user;
    return { user: publicUser, ...this.#session({ ...user, version: token_version }) };
  }

  /**
   * Unknown email and wrong password give the same answer after the same amount of work, and so does a
   * lock-out: attempts are counted per email whether or not an account has it, and a locked email is
   * refused (429) before its password is looked at, right or wrong.
   */
  async login(input: { email: string; password: string }) {
    const { maxFailures, lockoutSeconds } = this.#options;
    const lockedFor = await this.#users.countLoginAttempt(input.email, maxFailures, lockoutSeconds);
    if (lockedFor !== undefined) throw new LoginLockedOut(lockedFor);
    // Best effort, off the answer's path: a prune that fails is tried again PRUNE_EVERY attempts later.
    if (++this.#attempts % PRUNE_EVERY === 0) void this.#users.pruneLoginFailures(lockoutSeconds).catch(() => {});
    const user = await this.#users.findByEmail(input.email);
    const ok = await verifyPassword(input.password, user?.password_hash ?? DECOY_HASH);
    if (!user || !ok) throw invalidCredentials();
    await this.#users.clearLoginFailures(input.email);
    const { password_hash: _, token_version, ...publicUser } = user;
    return { user: publicUser, ...this.#session({ ...user, version: token_version }) };
  }

  async me(who: Principal) {
    const user = await this.#users.findById(who.id);
    if (!user) throw notFound('Account');
    return user;
  }

  async #load(id: string): Promise<AccountState> {
    const row = await this.#users.tokenState(id);
    return row ? { role: row.role, version: row.token_version } : NO_ACCOUNT;
  }

  #session(user: { id: string; role: Role; version: number }) {
    return {
      token: this.#tokens.issue(user),
      token_type: 'Bearer' as const,
      expires_in: this.#tokens.ttlSeconds,
    };
  }
}
