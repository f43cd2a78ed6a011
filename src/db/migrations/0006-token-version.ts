import { type Kysely, sql } from 'kysely';

/**
 * `users.token_version`: every token carries the version it was issued under (`ver`), and a token
 * whose version is no longer the account's is refused. Logging out bumps it (every token of the
 * account dies); so does any change of role or password, by trigger, whoever makes it (the API, an
 * admin's SQL), so a demoted account's tokens stop working even if the role is later changed back.
 *
 * `login_failures`: failed sign-ins counted per lower(email), not per account, so an email nobody has
 * is throttled exactly like one somebody has, and a lock-out says nothing about who is registered.
 * In the database, so the count holds across API nodes.
 */
export async function up(db: Kysely<unknown>) {
  await sql`
    ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 1;

    CREATE FUNCTION users_bump_token_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.token_version := OLD.token_version + 1;
      RETURN NEW;
    END $$;
    CREATE TRIGGER users_credentials_changed BEFORE UPDATE OF role, password_hash ON users
      FOR EACH ROW
      WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)
      EXECUTE FUNCTION users_bump_token_version();

    CREATE TABLE login_failures (
      email_key text PRIMARY KEY,
      failures integer NOT NULL,
      window_started_at timestamptz NOT NULL,
      locked_until timestamptz
    );
    CREATE INDEX login_failures_window ON login_failures (window_started_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>) {
  await sql`
    DROP TABLE login_failures;
    DROP TRIGGER users_credentials_changed ON users;
    DROP FUNCTION users_bump_token_version();
    ALTER TABLE users DROP COLUMN token_version;
  `.execute(db);
}
