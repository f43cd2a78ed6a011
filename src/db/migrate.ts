import { type Kysely, type Migration, type MigrationProvider, Migrator } from 'kysely';
import * as initialSchema from './migrations/0001-initial-schema.ts';
import * as partnerState from './migrations/0002-partner-state.ts';
import * as followUpOutbox from './migrations/0003-follow-up-outbox.ts';
import * as assignmentEvents from './migrations/0004-assignment-events.ts';
import * as callsNeverSent from './migrations/0005-calls-never-sent.ts';
import * as tokenVersion from './migrations/0006-token-version.ts';
import * as menuSync from './migrations/0007-menu-sync.ts';
import * as courierShifts from './migrations/0008-courier-shifts.ts';
import * as catalogNotifications from './migrations/0009-catalog-notifications.ts';
import * as courierUnassigned from './migrations/0010-courier-unassigned.ts';

/** Listed here rather than read from disk, so the set of migrations is checked by the compiler. */
const migrations: Record<string, Migration> = {
  '0001-initial-schema': initialSchema,
  '0002-partner-state': partnerState,
  '0003-follow-up-outbox': followUpOutbox,
  '0004-assignment-events': assignmentEvents,
  '0005-calls-never-sent': callsNeverSent,
  '0006-token-version': tokenVersion,
  '0007-menu-sync': menuSync,
  '0008-courier-shifts': courierShifts,
  '0009-catalog-notifications': catalogNotifications,
  '0010-courier-unassigned': courierUnassigned,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Applies pending migrations. Kysely's PostgreSQL adapter holds a session advisory lock for the whole
 * run, so API nodes starting together apply each migration exactly once.
 * @see https://kysely.dev/docs/migrations
 */
export async function migrateToLatest<T>(db: Kysely<T>) {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? '(unknown)'} failed: ${(error as Error).message}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
