/**
 * `npm test`: one PostgreSQL for the whole run (DATABASE_URL's server, or an embedded one in a
 * temporary directory), a migrated template database, then node's test runner. Each test file clones
 * its own database from the template, so files run in parallel without seeing each other's rows.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { glob } from 'node:fs/promises';
import pg from 'pg';
import { createDatabase } from '../src/db/database.ts';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { JobQueue } from '../src/jobs/job-queue.ts';
import { freePort } from '../bench/processes.ts';

const TEMPLATE = `dabba_test_template_${process.pid}`;


function withDatabase(url: string, name: string) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin(url: string, statement: string) {
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const given = process.env.DATABASE_URL;
let embeddedDir: string | undefined;
let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
let serverUrl = given;
if (!serverUrl) {
  embeddedDir = await mkdtemp(path.join(tmpdir(), 'dabba-test-pg-'));
  embedded = await startEmbeddedPostgres({ dataDir: embeddedDir, port: await freePort() });
  serverUrl = embedded.url;
}
process.stdout.write(`test database server: ${given ? 'DATABASE_URL' : 'embedded PostgreSQL 18'}\n`);

let code = 1;
try {
  await admin(serverUrl, `DROP DATABASE IF EXISTS ${TEMPLATE}`);
  await admin(serverUrl, `CREATE DATABASE ${TEMPLATE}`);
  const { db } = createDatabase({ url: withDatabase(serverUrl, TEMPLATE), max: 1 });
  await migrateToLatest(db);
  await db.destroy();
  // pg-boss installs its own schema on first start; doing it once here spares every test file's clone.
  const jobs = new JobQueue({ url: withDatabase(serverUrl, TEMPLATE), pollIntervalMs: 1000, onError: () => {} });
  await jobs.start();
  await jobs.stop();

  const patterns = process.argv.slice(2);
  const files: string[] = [];
  for await (const f of glob(patterns.length ? patterns : ['src/**/*.test.ts', 'sim/**/*.test.ts', 'bench/**/*.test.ts', 'test/**/*.test.ts'])) {
    files.push(f);
  }
  files.sort();
  const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files], {
    stdio: 'inherit',
    env: {
      ...process.env,
      DABBA_TEST_SERVER_URL: serverUrl,
      DABBA_TEST_TEMPLATE: TEMPLATE,
      DABBA_TEST_MODE: given ? 'external' : 'embedded',
    },
  });
  code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
} finally {
  await admin(serverUrl, `DROP DATABASE IF EXISTS ${TEMPLATE}`).catch(() => {});
  await embedded?.close();
  if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
}
process.exit(code);
