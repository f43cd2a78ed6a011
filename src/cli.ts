#!/usr/bin/env node

import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import { ConfigError, type Config, loadConfig } from './config.ts';
import { createDatabase } from './db/database.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded-postgres.ts';
import { migrateToLatest } from './db/migrate.ts';
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from './db/seed/demo-city.ts';
import { startServer, stopServer } from './server.ts';

const USAGE = `usage: dabba <command>

  up        everything on this machine: embedded PostgreSQL (unless DATABASE_URL), the partner
            simulators (unless their URLs are set) and the API on PORT
  serve     the API only (production): needs DATABASE_URL
  migrate   apply database migrations and exit
  partners  the partner simulators only, on SIM_PORT`;

/** DATABASE_URL when given; otherwise the embedded PostgreSQL under DABBA_DATA_DIR. */
async function database(config: Config): Promise<{ config: Config; embedded?: EmbeddedDatabase }> {
  if (config.database.url) return { config };
  process.stdout.write(`starting embedded PostgreSQL 18 in ${config.dataDir}/pg …\n`);
  const embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.database.embeddedPort });
  return { config: { ...config, database: { ...config.database, url: embedded.url } }, embedded };
}

function banner(config: Config) {
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  const accounts = Object.values(DEMO_ACCOUNTS).map((e) => `    ${e}`).join('\n');
  return `
dabba is up
  API       ${base}/v1
  docs      ${base}/docs   (OpenAPI: ${base}/openapi.json)
  health    ${base}/healthz  ${base}/readyz
${config.seedDemo ? `  demo accounts (password "${DEMO_PASSWORD}"):\n${accounts}\n` : ''}  Ctrl-C stops everything.
`;
}

async function up(config: Config) {
  const { config: ready, embedded } = await database(config);
  let app: Awaited<ReturnType<typeof startServer>> | undefined;
  closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
    if (err) process.stderr.write(`${err.stack ?? err}\n`);
    if (signal) process.stdout.write(`\n${signal}: stopping …\n`);
    if (app) await stopServer(app);
    await embedded?.close();
  });
  app = await startServer(ready);
  process.stdout.write(banner(ready));
}

async function serve(config: Config) {
  if (!config.database.url) throw new ConfigError('Invalid configuration: DATABASE_URL must be set for `dabba serve`');
  const app = await startServer(config);
  closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error');
    else app.log.info({ signal }, 'shutting down');
    await stopServer(app);
  });
}

async function migrate(config: Config) {
  const { config: ready, embedded } = await database(config);
  const { db } = createDatabase({ url: ready.database.url!, max: 2 });
  try {
    const applied = await migrateToLatest(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await db.destroy();
    await embedded?.close();
  }
}

async function main() {
  const { positionals } = parseArgs({ allowPositionals: true, strict: false });
  const command = positionals[0];
  const config = loadConfig();
  switch (command) {
    case 'up':
      return up(config);
    case 'serve':
      return serve(config);
    case 'migrate':
      return migrate(config);
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = command ? 2 : 0;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(err instanceof ConfigError ? `${err.message}\n` : `${(err as Error).stack ?? err}\n`);
  process.exit(1);
});

