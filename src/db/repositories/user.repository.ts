import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { Role } from '../../domain/identity.ts';

export class UserRepository {
  private readonly db: Executor;

  constructor(db: Executor) {
    this.db = db;
  }

  findByEmail(email: string) {
    return this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role', 'password_hash', 'token_version'])
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .executeTakeFirst();
  }

  findById(id: string) {
    return this.db
      .selectFrom('users')
      .select(['id', 'email', 'name', 'role', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** Returns undefined when the email is taken (unique index on lower(email)). */
  async insert(user: { email: string; name: string; role: Role; password_hash: string }, db: Executor = this.db) {
    return db
      .insertInto('users')
      .values(user)
      .onConflict((oc) => oc.expression(sql`lower(email)`).doNothing())
      .returning(['id', 'email', 'name', 'role', 'token_version', 'created_at'])
      .executeTakeFirst();
  }

  /** What a token is checked against: the account's current role and token version (undefined: no such account). */
  tokenState(id: string) {
    return this.db.selectFrom('users').select(['role', 'token_version']).where('id', '=', id).executeTakeFirst();
  }

  /** `tokenState` of many accounts in one round trip; an account that no longer exists is absent. */
  tokenStates(ids: readonly string[]) {
    return this.db
      .selectFrom('users')
      .select(['id', 'role', 'token_version'])
      // One array parameter: the same statement text for any number of ids, so it stays prepared.
      .where('id', '=', sql<string>`ANY(${[...ids]}::uuid[])`)
      .execute();
  }

  /** Revokes every token issued so far to the account; returns the new version (undefined: no such account). */
  async bumpTokenVersion(id: string) {
    const row = await this.db
      .updateTable('users')
      .set((eb) => ({ token_version: eb('token_version', '+', 1) }))
      .where('id', '=', id)
      .returning('token_version')
      .executeTakeFirst();
    return row?.token_version;
  }

  /**
   * Counts a sign-in attempt for an email (whether or not an account has it) and says for how many more
   * seconds the email is locked out, if it is (by the database's clock, the one every node shares).
   * Counted before the password is checked, so concurrent guesses cannot all slip in under the limit;
   * a success clears the count (clearLoginFailures). Within `lockoutSeconds` of the first failure, the
   * attempt after `maxFailures` locks the email for `lockoutSeconds`; attempts while locked neither
   * count nor extend the lock.
   */
  async countLoginAttempt(email: string, maxFailures: number, lockoutSeconds: number): Promise<number | undefined> {
    const window = sql`make_interval(secs => ${lockoutSeconds})`;
    const { rows } = await sql<{ locked_for: number | null }>`
      INSERT INTO login_failures AS f (email_key, failures, window_started_at) VALUES (${email.toLowerCase()}, 1, now())
      ON CONFLICT (email_key) DO UPDATE SET
        failures = CASE WHEN f.locked_until > now() THEN f.failures
                        WHEN f.window_started_at > now() - ${window} THEN f.failures + 1
                        ELSE 1 END,
        window_started_at = CASE WHEN f.locked_until > now() OR f.window_started_at > now() - ${window}
                                 THEN f.window_started_at ELSE now() END,
        locked_until = CASE WHEN f.locked_until > now() THEN f.locked_until
                            WHEN f.window_started_at > now() - ${window} AND f.failures >= ${maxFailures} THEN now() + ${window}
                            ELSE NULL END
      RETURNING CASE WHEN locked_until > now() THEN ceil(extract(epoch FROM locked_until - now()))::int END AS locked_for`.execute(this.db);
    return rows[0]?.locked_for ?? undefined;
  }

  async clearLoginFailures(email: string) {
    await this.db.deleteFrom('login_failures').where('email_key', '=', email.toLowerCase()).execute();
  }

  /** Forgets up to `limit` counts that no longer lock or count, so guessed emails do not pile up. */
  async pruneLoginFailures(lockoutSeconds: number, limit = 1_000) {
    await sql`
      DELETE FROM login_failures WHERE ctid IN (
        SELECT ctid FROM login_failures
         WHERE window_started_at < now() - make_interval(secs => ${lockoutSeconds})
           AND (locked_until IS NULL OR locked_until < now())
         LIMIT ${limit})`.execute(this.db);
  }

  async courierExists(id: string) {
    const row = await this.db
      .selectFrom('couriers')
      .select('user_id')
      .where('user_id', '=', id)
      .executeTakeFirst();
    return row !== undefined;
  }
}
