import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type Sim, createTestDatabase, eventually, startSim } from './helper.ts';
import { type CliProcess, exitWithin, freePort, parseJsonLines, runCli, sleep, waitReady, serveEnv } from './ops.helper.ts';

/** One GET on a connection of its own, so the primary hands each request to the next worker. */
function getOnNewConnection(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
};

describe('`dabba serve --workers 2`', () => {
  let sim: Sim;
  let drop: () => Promise<void>;
  let proc: CliProcess | undefined;
  const workerPids = new Set<number>();

  before(async () => {
    sim = await startSim();
  });

  after(async () => {
    await proc?.kill();
    // Workers are the primary's children; should it have died first, end each one we saw, by pid.
    for (const pid of workerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await sim?.server.close();
    await drop?.();
  });

  it('runs two workers, replaces one killed with SIGKILL, and stops them all on SIGTERM', { timeout: 110_000 }, async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    proc = runCli(['serve', '--workers', '2'], serveEnv(port, db.url, sim));
    const running = proc;
    const lines = () => parseJsonLines(running.output());
    const listening = () =>
      new Set(lines().filter((l) => String(l.msg).startsWith('Server listening at')).map((l) => Number(l.pid)));
    const servedBy = () => new Set(lines().filter((l) => l.msg === 'request' && l.route === '/healthz').map((l) => Number(l.pid)));

    await waitReady(base, running, 45_000);
    const first = await eventually('two workers listening', async () => listening().size >= 2 && listening(), 45_000);
    assert.equal(first.size, 2, `listening pids: ${[...first].join(', ')}`);
    for (const pid of first) workerPids.add(pid);
    assert.ok(!first.has(running.child.pid!), 'the primary does not serve itself');

    for (let i = 0; i < 20; i++) assert.equal(await getOnNewConnection(`${base}/healthz`), 200);
    const served = await eventually('both workers logging requests', async () => {
      const pids = servedBy();
      return [...first].every((p) => pids.has(p)) && pids;
    });
    assert.deepEqual([...served].sort(), [...first].sort(), 'requests were answered by exactly the two workers');

    // A worker that dies within 5 s of its fork stops the primary instead (a crash loop): wait past that.
    const forkedAt = lines().find((l) => l.msg === 'API workers starting' && l.role === 'primary')?.time;
    assert.equal(typeof forkedAt, 'number', 'the primary logged the start of its workers');
    const sinceFork = Date.now() - (forkedAt as number);
    if (sinceFork < 6_000) await sleep(6_000 - sinceFork);
    const [victim, survivor] = [...first] as [number, number];
    process.kill(victim, 'SIGKILL');

    const died = await eventually(
      'the primary noticing the dead worker',
      async () => lines().find((l) => l.msg === 'API worker died' && l.worker === victim),
      10_000,
    );
    assert.equal(died.signal, 'SIGKILL');
    assert.equal(died.role, 'primary');
    assert.equal(died.pid, running.child.pid);
    const replacement = await eventually(
      'a replacement worker listening',
      async () => [...listening()].find((p) => !first.has(p)),
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; output:\n${running.output().slice(-4000)}`);
    });
    workerPids.add(replacement);
    assert.ok(!alive(victim), 'the killed worker is gone');

    await eventually(
      'the replacement answering requests',
      async () => {
        for (let i = 0; i < 4; i++) assert.equal(await getOnNewConnection(`${base}/healthz`), 200);
        await sleep(50);
        return servedBy().has(replacement);
      },
      20_000,
    );
    assert.ok(alive(survivor), 'the other worker kept running');

    running.child.kill('SIGTERM');
    const [code, signal] = await exitWithin(running, 30_000);
    assert.equal(signal, null);
    assert.equal(code, 0, running.output().slice(-3000));
    for (const pid of [survivor, replacement]) assert.ok(!alive(pid), `worker ${pid} outlived the primary`);
    assert.ok(lines().some((l) => l.msg === 'stopping workers' && l.signal === 'SIGTERM'));
  });
});
