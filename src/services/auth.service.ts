import type { UserRepository } from '../db/repositories/user.repository.ts';
import { AppError, conflict, notFound } from '../errors.ts';
import { DECOY_HASH, hashPassword, verifyPassword } from './password-hasher.ts';
import type { Principal } from '../domain/identity.ts';
import type { TokenService } from './token.service.ts';

const invalidCredentials = () =>
  new AppError(401, 'invalid-credentials', 'Invalid credentials', 'The email or password is wrong.');

export class AuthService {
  readonly #users: UserRepository;
  readonly #tokens: TokenService;

  constructor(users: UserRepository, tokens: TokenService) {
    this.#users = users;
    this.#tokens = tokens;
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
    return { user, ...this.#session(user) };
  }

  /** Unknown email and wrong password give the same answer after the same amount of work. */
  async login(input: { email: string; password: string }) {
    const user = await this.#users.findByEmail(input.email);
    const ok = await verifyPassword(input.password, user?.password_hash ?? DECOY_HASH);
    if (!user || !ok) throw invalidCredentials();
    const { password_hash: _, ...publicUser } = user;
    return { user: publicUser, ...this.#session(user) };
  }

  async me(who: Principal) {
    const user = await this.#users.findById(who.id);
    if (!user) throw notFound('Account');
    return user;
  }

  #session(user: { id: string; role: 'customer' | 'restaurant' | 'courier' | 'admin' }) {
    return {
      token: this.#tokens.issue({ id: user.id, role: user.role }),
      token_type: 'Bearer' as const,
      expires_in: this.#tokens.ttlSeconds,
    };
  }
}
