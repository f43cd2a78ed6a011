import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import pino from 'pino';
import { offset } from '../src/domain/geo.ts';
import { LOCK_NAMESPACE, ZoneLeases, zoneLockKey } from '../src/dispatch/zone-leases.ts';
import { zoneOf } from '../src/dispatch/zones.ts';
import { CENTER, createTestDatabase, eventually } from './helper.ts';

const { url, drop } = await createTestDatabase();
const sql = new pg.Pool({ connectionString: url, max: 2 });
const opened: ZoneLeases[] = [];
after(async () => {
  await Promise.all(opened.map((l) => l.close()));
  await sql.end();
  await drop();
});

/** Three distinct zones around the test city's centre. */
const ZONES = [...new Set([0, 20, 40].map((km) => zoneOf(offset(CENTER, 90, km), 6)))];
const log = pino({ level: 'silent' });

/** A node's leadership, as another node sees it: the pid of the backend that holds each zone's lock. */
async function lockHolders() {
  const { rows } = await sql.query<{ pid: number; key: string }>(
    `SELECT pid, objid::text AS key FROM pg_locks
     WHERE locktype = 'advisory' AND classid = $1 AND objsubid = 2 AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_NAMESPACE],
  );
  return new Map(ZONES.map((z) => [z, rows.filter((r) => Number(r.key) === zoneLockKey(z) >>> 0).map((r) => r.pid)]));
}

function node(checkMs = 500) {
  const leases = new ZoneLeases({ url, checkMs, zones: async () => ZONES, log });
  const events: { change: 'acquired' | 'lost'; zone: string }[] = [];
  leases.on('acquired', (zone) => events.push({ change: 'acquired', zone }));
  leases.on('lost', (zone) => events.push({ change: 'lost', zone }));
  opened.push(leases);
  return { leases, events };
}

const heldBy = (n: ReturnType<typeof node>) => ZONES.filter((z) => n.leases.held().has(z));

describe('zone leases', () => {
  assert.equal(ZONES.length, 3);

  it('two nodes on one database: each zone is led by exactly one of them, and stays so', async () => {
    const a = node();
    const b = node();
    a.leases.start();
    b.leases.start();
    await eventually('every zone led', async () => heldBy(a).length + heldBy(b).length === ZONES.length);
    for (let i = 0; i < 3; i++) {
      await Promise.all([a.leases.check(), b.leases.check()]);
      for (const z of ZONES) assert.ok(a.leases.held().has(z) !== b.leases.held().has(z), `zone ${z} has exactly one leader`);
    }
    const holders = await lockHolders();
    for (const z of ZONES) assert.equal(holders.get(z)!.length, 1, `one session holds the lock of ${z}`);
    assert.equal(a.events.filter((e) => e.change === 'lost').length + b.events.filter((e) => e.change === 'lost').length, 0);
    await a.leases.close();
    await b.leases.close();
  });

  it('when the leader’s connection is killed, it stops leading at once and the other node leads within 10 s', async () => {
    const a = node();
    await a.leases.check();
    assert.deepEqual(heldBy(a), ZONES, 'the first node takes every free zone');
    const b = node();
    b.leases.start();
    await b.leases.check();
    assert.deepEqual(heldBy(b), [], 'the second node takes none while the first leads');

    const pids = new Set([...(await lockHolders()).values()].flat());
    assert.equal(pids.size, 1);
    const killedAt = Date.now();
    // What PostgreSQL sees of a kill -9: the leader's session ends without a goodbye.
    await sql.query('SELECT pg_terminate_backend($1)', [[...pids][0]]);

    await eventually('the old leader to notice', async () => heldBy(a).length === 0, 10_000);
    assert.deepEqual(a.events.filter((e) => e.change === 'lost').map((e) => e.zone).sort(), [...ZONES].sort());
    await eventually('the other node to lead every zone', async () => heldBy(b).length === ZONES.length, 10_000);
    assert.ok(Date.now() - killedAt < 10_000, `took over in ${Date.now() - killedAt} ms`);

    // The old leader reconnects on its next check, but finds every zone taken.
    await a.leases.check();
    await a.leases.check();
    assert.deepEqual(heldBy(a), []);
    await a.leases.close();
    await b.leases.close();
  });

  it('close() releases every zone at once: another node takes them on its very next check', async () => {
    const a = node(60_000);
    await a.leases.check();
    assert.deepEqual(heldBy(a), ZONES);
    const b = node(60_000);
    await b.leases.check();
    assert.deepEqual(heldBy(b), []);

    await a.leases.close();
    assert.deepEqual(heldBy(a), []);
    assert.deepEqual(a.events.filter((e) => e.change === 'lost').map((e) => e.zone).sort(), [...ZONES].sort());
    for (const pids of (await lockHolders()).values()) assert.deepEqual(pids, [], 'no lock left behind');
    await b.leases.check();
    assert.deepEqual(heldBy(b), ZONES);
    await b.leases.close();
  });
});
