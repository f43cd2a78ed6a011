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
      .select(['id', 'email', 'name', 'role', 'password_hash'])
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
      .returning(['id', 'email', 'name', 'role', 'created_at'])
      .executeTakeFirst();
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
