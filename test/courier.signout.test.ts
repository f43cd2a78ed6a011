import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalBus } from '../src/live/event-bus.ts';
import { TestSocket, listen } from './courier.helper.ts';
import { type Actor, createUser, setup } from './helper.ts';

// A short heartbeat: each beat also checks that every courier's sign-in still holds.
const bus = new LocalBus();
const ctx = await setup({ background: false, bus, env: { LIVE_HEARTBEAT_MS: '1000' } });
await ctx.app.listen({ host: '127.0.0.1', port: 0 });
const base = `ws://127.0.0.1:${(ctx.app.server.address() as { port: number }).port}/v1/courier/stream`;

async function connected(who: Actor) {
  const s = await TestSocket.open(base, who.auth);
  await s.next('hello');
  return s;
}

/** Swaps the courier sockets' periodic check for `check` until the returned function is called. */
function replaceCheck(check: () => Promise<Set<string>>) {
  const auth = ctx.app.services.auth;
  const original = auth.revokedAmong;
  auth.revokedAmong = check;
  return () => {
    auth.revokedAmong = original;
  };
}
const blindCheck = () => replaceCheck(async () => new Set());

const signedOutCloses = () =>
  ctx.app.metrics.liveDisconnects.get().then((m) => m.values.find((v) => v.labels.kind === 'courier_socket' && v.labels.reason === 'signed_out')?.value ?? 0);

describe('a courier who signs out', () => {
  it('loses the open socket at once (4001), and the token no longer opens one', async () => {
    const c = await createUser(ctx, 'courier');
    const other = await createUser(ctx, 'courier');
    const [s, kept] = await Promise.all([connected(c), connected(other)]);
    const heard = listen(bus, 'account.signed_out');
    // The periodic check sees nothing here, so only the bus's news can end the socket.
    const restore = blindCheck();
    let closed: { code: number; reason: string };
    try {
      const res = await ctx.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: c.auth });
      assert.equal(res.statusCode, 204, res.body);
      closed = await s.closedBy(5_000);
    } finally {
      restore();
    }
    assert.equal(closed.code, 4001);
    assert.match(closed.reason, /signed out/);
    assert.deepEqual(heard, [{ user_id: c.id }]);
    await assert.rejects(TestSocket.open(base, c.auth), (err: { status?: number }) => err.status === 401);
    assert.deepEqual(await kept.ask({ type: 'ping' }, 'pong'), { type: 'pong' }, "another courier's socket stays open");
    await kept.close();
  });

  it('loses it within a heartbeat when the news never came (a logout on a node whose message the bus lost)', async () => {
    const c = await createUser(ctx, 'courier');
    const other = await createUser(ctx, 'courier');
    const [s, kept] = await Promise.all([connected(c), connected(other)]);
    const before = await signedOutCloses();
    // What another node's logout writes, without the bus message that would have told this node.
    await ctx.sql.query('UPDATE users SET token_version = token_version + 1 WHERE id = $1', [c.id]);
    const closed = await s.closedBy(5_000);
    assert.equal(closed.code, 4001);
    assert.equal(await signedOutCloses(), before + 1);
    assert.deepEqual(await kept.ask({ type: 'ping' }, 'pong'), { type: 'pong' });
    await kept.close();
  });

  it('a courier whose role was taken away is signed out too', async () => {
    const c = await createUser(ctx, 'courier');
    const s = await connected(c);
    await ctx.sql.query(`UPDATE users SET role = 'customer' WHERE id = $1`, [c.id]);
    const closed = await s.closedBy(5_000);
    assert.equal(closed.code, 4001);
  });

  it('keeps sockets open while the check cannot reach the database', async () => {
    const c = await createUser(ctx, 'courier');
    const s = await connected(c);
    let failed = 0;
    const restore = replaceCheck(async () => {
      failed++;
      throw new Error('connection terminated');
    });
    try {
      await ctx.sql.query('UPDATE users SET token_version = token_version + 1 WHERE id = $1', [c.id]);
      await new Promise((r) => setTimeout(r, 2_500));
      assert.ok(failed >= 1, 'the check ran');
      assert.deepEqual(await s.ask({ type: 'ping' }, 'pong'), { type: 'pong' });
    } finally {
      restore();
    }
    // Once the database answers again, the next beat ends it.
    assert.equal((await s.closedBy(5_000)).code, 4001);
  });
});
