import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { once } from 'node:events';
import { createTestDatabase } from './helper.ts';
import { freePort } from '../bench/processes.ts';

const CLI = path.resolve('src/cli.ts');
const external = process.env.DABBA_TEST_MODE === 'external';


const children: ChildProcess[] = [];
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
// A failed assertion must not leave a `dabba up` running: its open pipes would keep the file alive.
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], {
    // Not about load shedding: a cold start's loop lag must not turn the first requests into 503s.
    env: { ...process.env, LOG_LEVEL: 'warn', SHED_MAX_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, output: () => output };
}

async function waitReady(base: string, proc: { output(): string; child: ChildProcess }, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`exited early:\n${proc.output()}`);
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`not ready in ${ms} ms:\n${proc.output()}`);
}

async function waitFor(what: string, check: () => boolean, ms = 30_000) {
  for (const deadline = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('dabba command line', () => {
  for (const [variable, value] of [['PORT', 'abc'], ['DATABASE_URL', 'nonsense'], ['EMBEDDED_PG_PORT', '-1']] as const) {
    it(`stops at start-up with one clear line when ${variable}=${value}`, async () => {
      const proc = run(['up'], { [variable]: value });
      const [code] = await proc.exited;
      assert.equal(code, 1);
      const lines = proc.output().trim().split('\n');
      assert.equal(lines.length, 1, proc.output());
      assert.match(lines[0]!, new RegExp(`^Invalid configuration: ${variable} `));
    });
  }

  it('`dabba up` serves the demo city, stops everything on Ctrl-C, and a second start reuses the data', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'dabba-up-'));
    after(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env: Record<string, string> = {
      PORT: String(port),
      DABBA_DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
    };
    if (external) env.DATABASE_URL = (await createTestDatabase({ migrated: false })).url;
    const base = `http://127.0.0.1:${port}`;

    const first = run(['up'], env);
    await waitReady(base, first);
    // The banner follows the catalog simulator's load from the database and the first menu sync.
    await waitFor('the banner', () => /dabba is up/.test(first.output()));
    // Background work starts once the database is migrated: a first start on an empty database logs no error.
    assert.doesNotMatch(first.output(), /"level":(50|60)|does not exist/, first.output());
    assert.match(first.output(), /docs\s+http:\/\/127\.0\.0\.1:\d+\/docs/);
    assert.match(first.output(), /pages\s+http:\/\/127\.0\.0\.1:\d+\/ /);
    assert.match(first.output(), /customer@dabba\.test/);
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'customer@dabba.test', password: 'dabba-demo' }),
    });
    assert.equal(login.status, 200);
    const { token } = (await login.json()) as { token: string };
    const nearby = (await (await fetch(`${base}/v1/restaurants?lat=19.076&lng=72.8777&limit=1`)).json()) as {
      items: { id: string }[];
    };
    const menu = (await (await fetch(`${base}/v1/restaurants/${nearby.items[0]!.id}/menu`)).json()) as {
      stale: boolean;
      items: { id: string; is_available: boolean }[];
    };
    // `dabba up` loaded the catalog simulator from the database and synced: the menu is current, and
    // about one dish in ten is off the (drifting) catalog this minute.
    assert.equal(menu.stale, false);
    const available = menu.items.find((i) => i.is_available)!;
    const placed = await fetch(`${base}/v1/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': 'cli-test-order-1' },
      body: JSON.stringify({
        restaurant_id: nearby.items[0]!.id,
        items: [{ menu_item_id: available.id, quantity: 1 }],
        delivery: { lat: 19.077, lng: 72.878, address: 'Gateway Road' },
      }),
    });
    assert.equal(placed.status, 201);
    const order = (await placed.json()) as { id: string };

    const pgPidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    const pgPid = external ? undefined : Number((await readFile(pgPidFile, 'utf8')).split('\n')[0]);
    first.child.kill('SIGINT');
    const [code] = await first.exited;
    assert.equal(code, 0, first.output());
    if (external) {
      assert.ok(!existsSync(path.join(dataDir, 'pg')), 'no embedded database starts when DATABASE_URL is set');
    } else {
      assert.ok(pgPid && pgPid > 0);
      assert.throws(() => process.kill(pgPid, 0), /ESRCH/, 'the embedded PostgreSQL stopped with dabba');
      assert.ok(!existsSync(pgPidFile));
    }

    const second = run(['up'], env);
    await waitReady(base, second);
    const again = await fetch(`${base}/v1/orders/${order.id}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(again.status, 200, 'the order placed before the restart is still there');
    const list = (await (await fetch(`${base}/v1/restaurants?lat=19.076&lng=72.8777&limit=100`)).json()) as {
      items: unknown[];
    };
    assert.equal(list.items.length, 24, 'the demo city was not seeded twice');
    second.child.kill('SIGTERM');
    const [code2] = await second.exited;
    assert.equal(code2, 0, second.output());

    // A second signal ends `up` at once, without its orderly stop: what it started still ends with it.
    const simPort = await freePort();
    const third = run(['up'], { ...env, SIM_PORT: String(simPort) });
    await waitReady(base, third);
    const simAlive = () => fetch(`http://127.0.0.1:${simPort}/_sim/partners`).then(() => true, () => false);
    assert.ok(await simAlive(), 'the partner simulators answer on SIM_PORT');
    const pgPid3 = external ? undefined : Number((await readFile(pgPidFile, 'utf8')).split('\n')[0]);
    third.child.kill('SIGTERM');
    // A signal sent while the same one is still pending is merged into it: the second waits for the first's effect.
    await waitFor('the orderly stop to begin', () => /SIGTERM: stopping/.test(third.output()));
    third.child.kill('SIGTERM');
    const [code3] = await third.exited;
    assert.notEqual(code3, 0, 'a forced stop is not a clean one');
    let simGone = false;
    let pgGone = pgPid3 === undefined;
    for (const deadline = Date.now() + 15_000; (!simGone || !pgGone) && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      simGone = !(await simAlive());
      if (!pgGone) pgGone = !alive(pgPid3!);
    }
    assert.ok(simGone, 'the partner simulators ended with dabba');
    assert.ok(pgGone, 'the embedded PostgreSQL ended with dabba');
  });

  it('`dabba migrate` applies the schema to an empty database and is a no-op the second time', async () => {
    const { url } = await createTestDatabase({ migrated: false });
    const first = run(['migrate'], { DATABASE_URL: url });
    assert.equal((await first.exited)[0], 0, first.output());
    assert.match(first.output(), /applied: 0001-initial-schema, 0002-partner-state/);
    const second = run(['migrate'], { DATABASE_URL: url });
    assert.equal((await second.exited)[0], 0, second.output());
    assert.match(second.output(), /up to date/);
  });
});
