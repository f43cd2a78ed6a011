import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Agent } from 'undici';
import { type Sim, createTestDatabase, eventually, startSim } from './helper.ts';
import {
  type CliProcess,
  type SeededWorld,
  exitWithin,
  freePort,
  orderPayload,
  runCli,
  seedWorld,
  sleep,
  waitReady,
  serveEnv,
} from './ops.helper.ts';

interface Outcome {
  kind: 'feed' | 'order';
  sentAt: number;
  doneAt: number;
  status?: number;
  error?: string;
  orderId?: string;
}

describe('graceful shutdown of `dabba serve`', () => {
  let sim: Sim;
  let sql: pg.Pool;
  let drop: () => Promise<void>;
  let databaseUrl: string;
  const processes: CliProcess[] = [];
  const agents: Agent[] = [];

  before(async () => {
    sim = await startSim();
    const db = await createTestDatabase();
    databaseUrl = db.url;
    drop = db.drop;
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    sql.on('error', () => {});
  });

  after(async () => {
    for (const p of processes) await p.kill();
    for (const a of agents) await a.destroy();
    await sim?.server.close();
    await sql?.end();
    await drop?.();
  });

  async function serve(env: Record<string, string> = {}) {
    const port = await freePort();
    const proc = runCli(['serve'], serveEnv(port, databaseUrl, sim, { SHUTDOWN_TIMEOUT_MS: '10000', ...env }));
    processes.push(proc);
    const base = `http://127.0.0.1:${port}`;
    await waitReady(base, proc);
    return { proc, base };
  }

  function client(base: string, world: SeededWorld) {
    const dispatcher = new Agent({ connections: 16, keepAliveTimeout: 30_000, headersTimeout: 20_000, bodyTimeout: 20_000 });
    agents.push(dispatcher);
    return async (kind: 'feed' | 'order', customer = 0): Promise<Outcome> => {
      const sentAt = performance.now();
      try {
        const res =
          kind === 'feed'
            ? await fetch(`${base}/v1/feed?lat=19.076&lng=72.8777`, { dispatcher } as RequestInit)
            : await fetch(`${base}/v1/orders`, {
                method: 'POST',
                headers: {
                  'content-type': 'application/json',
                  authorization: `Bearer ${world.customers[customer % world.customers.length]!.token}`,
                  'idempotency-key': randomUUID(),
                },
                body: JSON.stringify(orderPayload(world)),
                dispatcher,
              } as RequestInit);
        const body = await res.text();
        const orderId = kind === 'order' && res.status === 201 ? (JSON.parse(body) as { id: string }).id : undefined;
        return { kind, sentAt, doneAt: performance.now(), status: res.status, orderId };
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        return { kind, sentAt, doneAt: performance.now(), error: cause?.code ?? cause?.message ?? String(err) };
      }
    };
  }

  it('on SIGTERM finishes every request already sent, leaves no order undecided, and exits 0', async () => {
    await sim.fast();
    await sim.set('payments', { median_ms: 200, p99_ms: 300 });
    await sim.set('pos', { median_ms: 200, p99_ms: 300 });
    const world = await seedWorld(sql, { customers: 4 });
    const { proc, base } = await serve();
    const send = client(base, world);

    const outcomes: Outcome[] = [];
    const started = performance.now();
    let signalAt = Number.POSITIVE_INFINITY;
    // The load runs until 800 ms after the signal (and never past 20 s, should the signal never come).
    const loops = Array.from({ length: 8 }, async (_, loop) => {
      for (let i = 0; performance.now() < Math.min(signalAt + 800, started + 20_000); i++) {
        const outcome = await send((i + loop) % 2 === 0 ? 'order' : 'feed', loop);
        outcomes.push(outcome);
        if (outcome.error) await sleep(25); // the listener is gone; don't spin on refused connections
      }
    });
    // The signal lands while the server holds orders in checkout (written as placed, ~400 ms of partner
    // calls to go), whatever the machine's pace: a fixed delay could land between orders on a busy one.
    await sleep(300);
    const customers = world.customers.map((c) => c.id);
    await eventually('orders in checkout', async () => {
      const { rows } = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status = 'placed' AND customer_id = ANY($1::uuid[])`, [customers]);
      return rows[0]!.n >= 2;
    }, 10_000);
    signalAt = performance.now();
    proc.child.kill('SIGTERM');
    await Promise.all(loops);
    const [code, signal] = await exitWithin(proc, 15_000);
    assert.equal(signal, null);
    assert.equal(code, 0, proc.output().slice(-3000));

    const beforeSignal = outcomes.filter((o) => o.sentAt < signalAt);
    const afterSignal = outcomes.filter((o) => o.sentAt >= signalAt);
    assert.ok(beforeSignal.length >= 8, `only ${beforeSignal.length} requests before the signal`);
    for (const o of beforeSignal) {
      assert.equal(o.error, undefined, `a ${o.kind} sent ${Math.round(signalAt - o.sentAt)} ms before SIGTERM failed: ${o.error}`);
      const ok = o.kind === 'feed' ? [200, 503] : [201, 503];
      assert.ok(ok.includes(o.status!), `a ${o.kind} sent before SIGTERM answered ${o.status}`);
    }
    const drained = beforeSignal.filter((o) => o.doneAt > signalAt && (o.status === 200 || o.status === 201));
    assert.ok(drained.length >= 1, 'some requests were in flight at SIGTERM and were answered in full');
    assert.ok(drained.some((o) => o.kind === 'order'), 'an order in flight at SIGTERM was answered in full');
    // A request sent just after the signal may still beat it to the server; none may end badly.
    for (const o of afterSignal) {
      assert.ok(o.error !== undefined || [200, 201, 503].includes(o.status!), `a ${o.kind} sent after SIGTERM answered ${o.status}`);
    }
    assert.ok(afterSignal.some((o) => o.error !== undefined || o.status === 503), 'the load went on into the shutdown');
    assert.match(proc.output(), /"msg":"shutting down"/);

    // Every order in the database was answered with 201, and every one of them was decided.
    const created = outcomes.filter((o) => o.status === 201).map((o) => o.orderId!);
    const { rows } = await sql.query<{ id: string; status: string; payment_state: string }>(
      'SELECT id, status, payment_state FROM orders WHERE customer_id = ANY($1::uuid[])',
      [world.customers.map((c) => c.id)],
    );
    assert.deepEqual(rows.map((r) => r.id).sort(), [...created].sort(), 'orders in the database and 201 answers differ');
    assert.ok(rows.length >= 3);
    for (const r of rows) {
      assert.ok(['confirmed', 'payment_failed', 'rejected'].includes(r.status), `order ${r.id} left ${r.status}/${r.payment_state}`);
      assert.ok(!(r.status === 'placed' && r.payment_state === 'pending'));
    }
  });

  it('a second SIGTERM during the drain ends the process at once with a non-zero code', async () => {
    await sim.fast();
    await sim.set('pos', { mode: 'hang' });
    const world = await seedWorld(sql, { customers: 2 });
    // The checkout deadline keeps the hung orders in flight for 8 s: a graceful stop would wait for them.
    const { proc, base } = await serve({ ORDER_FLOW_DEADLINE_MS: '8000' });
    const send = client(base, world);
    const inFlight = Promise.all([send('order', 0), send('order', 1), send('order', 0)]);
    await sleep(500);
    const first = performance.now();
    proc.child.kill('SIGTERM');
    await sleep(100);
    assert.equal(proc.child.exitCode, null, 'still draining after the first SIGTERM');
    proc.child.kill('SIGTERM');
    const [code] = await exitWithin(proc, 5_000);
    const tookMs = proc.exitedAt()! - first;
    assert.notEqual(code, 0);
    assert.notEqual(code, null);
    assert.ok(tookMs < 2_000, `took ${Math.round(tookMs)} ms after the first SIGTERM`);
    const answers = await inFlight;
    assert.ok(
      answers.every((a) => a.error !== undefined),
      `the hung orders were cut off, not answered: ${JSON.stringify(answers.map((a) => a.status ?? a.error))}`,
    );
    await sim.set('pos', { mode: 'normal' });
  });
});
