/**
 * Every operation of the app's own OpenAPI document, driven by seeded generated requests (valid,
 * boundary, invalid by construction, and odd) from every kind of caller, against real rows. Replay a
 * run with `FUZZ_SEED=<seed> FUZZ_RUNS=<n> npm test -- test/fuzz.routes.test.ts`; generators are in
 * test/fuzz.generators.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import fc from 'fast-check';
import { createSigner } from 'fast-jwt';
import { offset } from '../src/domain/geo.ts';
import {
  type FuzzContext,
  type FuzzRequest,
  type Identity,
  type Operation,
  invalidRequestArbitrary,
  operationsOf,
  refResolver,
  requestArbitrary,
  validRequestArbitrary,
} from './fuzz.generators.ts';
import { MOVE_FROM, PREFERRED, nearCentre } from './fuzz.domain.ts';
import { type Answer, clip, describeAnswer, fileOperations, loggedFor, problemViolations, send as sendRequest, streamOperations } from './fuzz.transport.ts';
import { LogCollector } from './ops.helper.ts';
import { type Actor, CENTER, TEST_PASSWORD, type TestRestaurant, createRestaurant, createUser, databaseDigest, eventually, placeOrder, setup, testConfig } from './helper.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_101);
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const BATCH = 100;
/**
 * Batches in a repeating order: mixed requests at once; requests all invalid by construction at once,
 * with one database digest before and after; and schema-valid writes one at a time (half a batch), with
 * a digest after each, so every one refused for what it asked (403, 404, 409, 422…) is checked too.
 */
const PLAN = ['mixed', 'invalid only', 'mixed', 'invalid only', 'mixed', 'invalid only', 'mixed', 'mixed', 'mixed', 'one at a time'] as const;
const CONCURRENCY = 16;
const KiB = 1024;
/** A problem lists at most 20 errors of at most 500 characters each, plus `instance` (the URL, which Node caps at 16 KiB of headers). */
const MAX_PROBLEM_BYTES = 64 * KiB;
/**
 * The largest success is a page: at most 100 orders (`limit` ≤ 100), each at most 30 lines and 800
 * characters of free text, about 8 KiB; every other answer is one row or a short list.
 */
const MAX_SUCCESS_BYTES = 1024 * KiB;
/** What must never reach a client: stack frames, file paths, SQL and PostgreSQL's own error texts. */
const LEAKS = [
  /\bat [^\n"]*\.(?:ts|js|mjs|cjs):\d+/,
  /node_modules|file:\/\//,
  /\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM) /,
  /violates (?:foreign key|unique|check|not-null) constraint|invalid input syntax for|syntax error at or near|duplicate key value|relation "[^"]+" does not exist/,
];

// Background work off: nothing changes rows after a response, so a digest before and after a request is exact.
// Errors are logged, so a failure can show what the server saw.
const log = new LogCollector();
const ctx = await setup({ background: false, logStream: log, env: { LOG_LEVEL: 'error' } });
const SECRET = testConfig(ctx.url).jwt.secret;

const [customer, customer2, owner, owner2, courier, courier2, admin, signIn1, signIn2] = await Promise.all(
  (['customer', 'customer', 'restaurant', 'restaurant', 'courier', 'courier', 'admin', 'customer', 'courier'] as const).map((role) => createUser(ctx, role)),
);
const tablet = await createRestaurant(ctx, owner!);
const pos = await createRestaurant(ctx, owner!, { pos: true });
const theirs = await createRestaurant(ctx, owner2!);
const restaurants: TestRestaurant[] = [tablet, pos, theirs];

const sign = (payload: Record<string, unknown>, opts: { key?: string; clockTimestamp?: number } = {}) =>
  createSigner({ key: opts.key ?? SECRET, algorithm: 'HS256', iss: 'dabba', expiresIn: 60_000, clockTimestamp: opts.clockTimestamp })(payload);
/** The accounts behind the identities, to sign in again when a generated logout revoked their tokens. */
const accounts = new Map<string, Actor>();
const person = (name: string, a: Actor): Identity => {
  accounts.set(name, a);
  return { name, role: a.role, authorization: a.auth.authorization, rejected: false, weight: 4 };
};
const refused = (name: string, authorization?: string): Identity => ({ name, authorization, rejected: true });
const [head, , signature] = admin!.token.split('.');
const identities: Identity[] = [
  person('customer', customer!), person('other customer', customer2!), person('restaurant owner', owner!), person('other owner', owner2!),
  person('courier', courier!), person('other courier', courier2!), person('admin', admin!),
  refused('no token'),
  refused('garbage token', 'Bearer not-a-token'),
  refused('three garbage segments', 'Bearer a.b.c'),
  refused('token signed with another key', `Bearer ${sign({ sub: admin!.id, role: 'admin' }, { key: 'another-secret-another-secret-000' })}`),
  refused('expired token', `Bearer ${sign({ sub: admin!.id, role: 'admin' }, { clockTimestamp: Date.now() - 3_600_000 })}`),
  refused('tampered payload', `Bearer ${head}.${Buffer.from(JSON.stringify({ sub: customer!.id, role: 'admin', iss: 'dabba' })).toString('base64url')}.${signature}`),
  refused('alg none', `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(`{"sub":"${admin!.id}","role":"admin"}`).toString('base64url')}.`),
  refused('lower-case scheme', `bearer ${admin!.token}`),
  refused('basic auth', 'Basic YWRtaW46YWRtaW4='),
  refused('8 KiB token', `Bearer ${'a'.repeat(8 * KiB)}.b.c`),
  // Validly signed, for accounts that do not exist (a token outliving its account or database).
  ...(['customer', 'restaurant', 'courier', 'admin'] as const).map((role) => ({
    name: `ghost ${role}`, role, authorization: `Bearer ${ctx.app.services.tokens.issue({ id: randomUUID(), role })}`, rejected: false,
  })),
];

// Real rows for generated requests to aim at; orders are topped up in several statuses between blocks of batches.
const pools = {
  orders: [] as string[],
  /** The same orders by the state replenish() left them in, newest last. */
  ordersIn: Object.fromEntries(
    ['placed', 'cancelled', 'rejected', 'confirmed', 'confirmed by POS', 'preparing', 'ready', 'ready with courier', 'picked_up', 'delivered'].map((state) => [state, [] as string[]]),
  ),
  cursors: [] as string[],
  // Sign-ins aim at accounts of their own: failed ones lock an email out, and the identities must keep signing in.
  emails: [signIn1!.email, signIn2!.email],
  idempotencyKeys: ['fuzz-key-0001', 'fuzz-key-0002', 'fuzz-key-0003'],
};
const itemIds = restaurants.flatMap((r) => r.items.map((i) => i.id));
const fromPool = (pool: readonly string[], recent = Number.POSITIVE_INFINITY) =>
  fc.tuple(fc.nat(), fc.uuid()).map(([i, none]) => (pool.length ? pool[pool.length - 1 - (i % Math.min(recent, pool.length))]! : none));
const cursorOf = (values: unknown) => Buffer.from(JSON.stringify(values)).toString('base64url');
const forgedCursors = [
  cursorOf([Number.MAX_VALUE, tablet.id]), cursorOf([-1, tablet.id]), cursorOf(['0001-01-01T00:00:00.000Z', tablet.id]),
  cursorOf(['9999-12-31T23:59:59.999Z', 'ffffffff-ffff-ffff-ffff-ffffffffffff']), cursorOf([null, null]), cursorOf([1]), cursorOf({}), 'AAAA',
];

function hint(op: Operation, path: string): fc.Arbitrary<string> | undefined {
  switch (path) {
    case 'path.id': {
      if (!op.path.startsWith('/v1/orders')) return fc.constantFrom(...restaurants.map((r) => r.id));
      // A move mostly aims at an order in a state it can leave, so the happy paths are reached too.
      const from = MOVE_FROM[op.path.split('/').at(-1)!] ?? [];
      const any = fromPool(pools.orders, 24);
      return from.length ? fc.oneof(any, ...from.map((state) => fromPool(pools.ordersIn[state]!, 2))) : any;
    }
    case 'path.itemId':
    case 'body.items.menu_item_id':
      return fc.constantFrom(...itemIds);
    case 'body.restaurant_id':
      return fc.constantFrom(...restaurants.map((r) => r.id));
    case 'body.courier_id':
      return fc.constantFrom(courier!.id, courier!.id, courier2!.id, customer!.id);
    case 'body.email':
      return fromPool(pools.emails);
    case 'body.password':
      return fc.constant(TEST_PASSWORD);
    case 'query.cursor':
      return fc.oneof(fromPool(pools.cursors), fc.constantFrom(...forgedCursors));
    case 'header.idempotency-key':
      // Now and then a key used before: a replay (200) or, with another body, a 422.
      return fc.oneof({ weight: 1, arbitrary: fc.constantFrom(...pools.idempotencyKeys) }, { weight: 3, arbitrary: fc.uuid() });
  }
  return undefined;
}

/** An order most of whose bodies the server can accept: items of one restaurant, delivered within its range. */
const realisticOrder = fc
  .record({
    r: fc.constantFrom(...restaurants),
    lines: fc.array(fc.record({ i: fc.nat(), quantity: fc.integer({ min: 1, max: 50 }) }), { minLength: 1, maxLength: 4 }),
    bearing: fc.integer({ min: 0, max: 359 }),
    km: fc.double({ min: 0, max: 6, noNaN: true }),
    address: fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }).filter((s) => !s.includes('\u0000')),
    notes: fc.option(fc.string({ unit: 'grapheme-ascii', maxLength: 80 }), { nil: undefined }),
  })
  .map(({ r, lines, bearing, km, address, notes }) => ({
    restaurant_id: r.id,
    items: lines.map((l) => ({ menu_item_id: r.items[l.i % r.items.length]!.id, quantity: l.quantity })),
    delivery: { ...offset(CENTER, bearing, km), address },
    ...(notes === undefined ? {} : { notes }),
  }));

const REALISTIC: Record<string, fc.Arbitrary<unknown>> = {
  'POST /v1/orders': realisticOrder,
  'POST /v1/courier/shift': nearCentre.map((p) => ({ online: true, ...p })),
  'POST /v1/courier/location': nearCentre,
};

async function move(id: string, action: string, who: Actor, body: Record<string, unknown> = {}) {
  const res = await ctx.app.inject({ method: 'POST', url: `/v1/orders/${id}/${action}`, headers: who.auth, payload: body });
  assert.equal(res.statusCode, 200, `${action}: ${res.body}`);
}

/** Signs in again the identities a generated logout just revoked, so the next batches have their tokens. */
async function signInAgain(names: Set<string>) {
  for (const name of names) {
    const actor = accounts.get(name);
    if (!actor) continue;
    const res = await ctx.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: actor.email, password: TEST_PASSWORD } });
    assert.equal(res.statusCode, 200, `signing ${name} in again: ${res.body}`);
    actor.token = res.json<{ token: string }>().token;
    actor.auth = { authorization: `Bearer ${actor.token}` };
    identities.find((i) => i.name === name)!.authorization = actor.auth.authorization;
  }
}

/** Reopens what the fuzzer closed and adds one order in each status, in a fixed order. */
async function replenish() {
  for (const r of restaurants) {
    await ctx.app.inject({ method: 'PATCH', url: `/v1/restaurants/${r.id}`, headers: admin!.auth, payload: { is_open: true } });
    for (const i of r.items) {
      await ctx.app.inject({ method: 'PATCH', url: `/v1/restaurants/${r.id}/menu/${i.id}`, headers: admin!.auth, payload: { is_available: true, price_cents: i.price_cents } });
    }
  }
  const assigned: [string, Actor, Record<string, unknown>][] = [['accept', owner!, {}], ['assign', admin!, { courier_id: courier!.id }], ['preparing', owner!, {}], ['ready', owner!, {}]];
  const steps: [string, [string, Actor, Record<string, unknown>?][]][] = [
    ['placed', []], ['cancelled', [['cancel', customer!]]], ['rejected', [['reject', owner!]]], ['confirmed', [['accept', owner!]]],
    ['preparing', [['accept', owner!], ['preparing', owner!]]], ['ready', [['accept', owner!], ['preparing', owner!], ['ready', owner!]]],
    ['ready with courier', assigned], ['picked_up', [...assigned, ['picked-up', courier!]]], ['delivered', [...assigned, ['picked-up', courier!], ['delivered', courier!]]],
  ];
  const add = (state: string, id: string) => {
    pools.orders.push(id);
    pools.ordersIn[state]!.push(id);
  };
  for (const [state, path] of steps) {
    const { id } = await placeOrder(ctx, customer!, tablet);
    for (const [action, who, body] of path) await move(id, action, who, body);
    add(state, id);
  }
  add('confirmed by POS', (await placeOrder(ctx, customer!, pos)).id);
  add('placed', (await placeOrder(ctx, customer2!, theirs)).id);
}

/** Operations whose success is an event stream (filled from the document). */
let streams = new Set<string>();
/** Operations whose success is a file (CSV, NDJSON…), with its media types (filled from the document). */
let files = new Map<string, string[]>();

let sequence = 0;
const send = (r: FuzzRequest) => sendRequest(ctx.app, r, `fuzz-${++sequence}`, streams.has(r.op));

const show = (r: FuzzRequest, a: Answer) => describeAnswer(log, r, a);

/** The properties every answer keeps; returns what it broke. */
function violations(op: Operation, r: FuzzRequest, a: Answer): string[] {
  const out: string[] = [];
  const sent = `${r.url} ${JSON.stringify(r.headers)} ${r.payload ?? ''}`;
  for (const leak of LEAKS) if (leak.test(a.body) && !leak.test(sent)) out.push(`leaks ${leak}`);
  if (a.status >= 500) {
    const cause = loggedFor(log, a).map((l) => (l.err ? `${l.err.type}: ${l.err.message}` : l.msg))[0];
    return [`a ${a.status}${cause ? ` (logged: ${clip(cause, 100)})` : ''}`, ...out];
  }
  if (r.kind === 'invalid' && a.status < 400) out.push(`an invalid request answered ${a.status}`);
  if (a.status >= 400) return [...out, ...problemViolations(r, a, MAX_PROBLEM_BYTES)];
  if (a.bytes > MAX_SUCCESS_BYTES) out.push(`a success over ${MAX_SUCCESS_BYTES / KiB} KiB`);
  if (a.status === 204) return a.bytes === 0 ? out : [...out, 'a 204 with a body'];
  if (streams.has(op.key) && a.status === 200) return a.type.startsWith('text/event-stream') ? out : [...out, `a stream's 200 as ${a.type}`];
  const file = files.get(op.key);
  if (file && a.status === 200) return file.some((t) => a.type.startsWith(t)) ? out : [...out, `a file's 200 as ${a.type}`];
  if (!a.type.startsWith('application/json')) return [...out, `a ${a.status} as ${a.type}`];
  const body = JSON.parse(a.body) as { items?: unknown[] };
  const limitParam = op.query.find((q) => q.name === 'limit');
  if (limitParam && Array.isArray(body.items)) {
    const asked = Number(new URL(r.url, 'http://x').searchParams.get('limit') ?? limitParam.schema.default);
    if (body.items.length > asked) out.push('a page longer than the limit asked for');
  }
  return out;
}

// About a minute on an idle 2-core machine; the timeout leaves room for a CI host shared with other work.
it('every route answers 10,000 generated requests without a 5xx, within size bounds, and rejected ones change nothing', { timeout: 600_000 }, async (t) => {
  t.diagnostic(`seed ${SEED}, ${RUNS} requests (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npm test -- test/fuzz.routes.test.ts)`);
  const doc = (await ctx.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const resolve = refResolver(doc);
  const ops = operationsOf(doc, resolve);
  streams = streamOperations(doc);
  files = fileOperations(doc);
  assert.ok(streams.size >= 3, `the document lists ${streams.size} event streams`);
  const byKey = new Map(ops.map((op) => [op.key, op]));
  const fx: FuzzContext = {
    resolve,
    identities,
    hint,
    preferredRoles: (op) => PREFERRED[op.key] ?? [],
    realisticBody: (op) => REALISTIC[op.key],
    // Each valid sign-in or registration costs a password hash, and each logout a sign-in to restore the identity.
    costly: (op) => ['POST /v1/auth/register', 'POST /v1/auth/login', 'POST /v1/auth/logout'].includes(op.key),
  };
  const anyOf = new Map(ops.map((op) => [op.key, requestArbitrary(op, fx)]));
  const validOf = new Map(ops.map((op) => [op.key, validRequestArbitrary(op, fx)]));
  const invalidOf = new Map(
    ops.flatMap((op) => {
      const arb = invalidRequestArbitrary(op, fx);
      return arb ? [[op.key, arb] as const] : [];
    }),
  );
  const refusable = ops.filter((op) => invalidOf.has(op.key));
  // Costly operations get half the share of the others (still hundreds of requests each).
  const any = fc.oneof(...ops.map((op) => ({ weight: fx.costly(op) ? 1 : 2, arbitrary: anyOf.get(op.key)! })));
  // One at a time, only operations that write: a refused read that changed rows would show in the invalid-only batches too.
  const writes = ops.filter((op) => op.method !== 'GET');
  const validOnly = fc.oneof(...writes.map((op) => ({ weight: fx.costly(op) ? 1 : 2, arbitrary: validOf.get(op.key)! })));
  const invalidOnly = fc.constantFrom(...refusable).chain((op) => invalidOf.get(op.key)!);

  const calls = new Map(ops.map((op) => [op.key, { total: 0, ok: 0, valid: 0, invalid: 0 }]));
  const statuses = new Map<number, number>();
  /** Answers whose status the document does not list for the operation: reported, not failed. */
  const undocumented = new Map<string, number>();
  /** Broken properties, each with the operations it was seen on and its first example. */
  const failures = new Map<string, { count: number; ops: Set<string>; example: string }>();
  const fail = (what: string, r: FuzzRequest, example: string) => {
    const f = failures.get(what) ?? { count: 0, ops: new Set<string>(), example };
    f.count++;
    f.ops.add(r.op);
    failures.set(what, f);
  };
  const record = (r: FuzzRequest, a: Answer) => {
    const c = calls.get(r.op)!;
    c.total++;
    if (a.status < 300) c.ok++;
    if (r.kind === 'valid') c.valid++;
    if (r.kind === 'invalid') c.invalid++;
    statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    if (!byKey.get(r.op)!.statuses.includes(a.status)) undocumented.set(`${r.op} ${a.status}`, (undocumented.get(`${r.op} ${a.status}`) ?? 0) + 1);
    for (const v of violations(byKey.get(r.op)!, r, a)) fail(v, r, show(r, a));
    // Cursors the server issued, for later requests to hand back.
    const cursor = a.status === 200 && a.body.includes('"next_cursor":"') ? (JSON.parse(a.body) as { next_cursor: string }).next_cursor : undefined;
    if (cursor && pools.cursors.length < 64) pools.cursors.push(cursor);
  };

  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const phaseMs: Record<string, number> = {};
  let digested = 0;
  let sent = 0;
  for (let b = 0; sent < RUNS; b++) {
    const phase = PLAN[b % PLAN.length]!;
    if (b % PLAN.length === 0) await replenish();
    const size = Math.min(phase === 'one at a time' ? BATCH / 2 : BATCH, RUNS - sent);
    sent += size;
    const arbitrary = phase === 'invalid only' ? invalidOnly : phase === 'one at a time' ? validOnly : any;
    const requests = fc.sample(arbitrary, { seed: (SEED + b * 7_919) | 0, numRuns: size });
    const phaseStarted = performance.now();
    const answers: Answer[] = new Array(requests.length);
    if (phase === 'one at a time') {
      // Every request refused for what it asked (403, 404, 409, 422…) must leave every table as it was.
      let before = await databaseDigest(ctx.sql);
      for (const [i, r] of requests.entries()) {
        const a = await send(r);
        answers[i] = a;
        const after = await databaseDigest(ctx.sql);
        if (a.status >= 400 && a.status < 500) {
          digested++;
          if (after !== before) fail(`a refused request (${a.status}) changed rows`, r, show(r, a));
        }
        before = after;
      }
    } else {
      const before = phase === 'invalid only' ? await databaseDigest(ctx.sql) : undefined;
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < requests.length) {
            const i = next++;
            answers[i] = await send(requests[i]!);
          }
        }),
      );
      // Every one of them is invalid by construction, so the batch as a whole must change nothing.
      if (before !== undefined) {
        digested += requests.length;
        if ((await databaseDigest(ctx.sql)) !== before) fail('a batch of invalid requests changed rows', requests[0]!, requests.map((r, i) => show(r, answers[i]!)).join('\n  '));
      }
    }
    phaseMs[phase] = (phaseMs[phase] ?? 0) + performance.now() - phaseStarted;
    for (const [i, r] of requests.entries()) record(r, answers[i]!);
    await signInAgain(new Set(requests.filter((r, i) => r.op === 'POST /v1/auth/logout' && answers[i]!.status < 300).map((r) => r.identity)));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);

  const total = [...calls.values()].reduce((n, c) => n + c.total, 0);
  const phases = Object.entries(phaseMs).map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`).join(', ');
  t.diagnostic(`${total} requests in ${seconds.toFixed(1)} s, ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of this process's CPU (${phases}); ${digested} refused requests checked against a database digest`);
  t.diagnostic(`statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([x], [y]) => x - y)))}`);
  t.diagnostic(`statuses the document does not list: ${[...undocumented].map(([k, n]) => `${k} ×${n}`).join('; ') || 'none'}`);
  t.diagnostic(`per operation (calls/2xx/valid/invalid): ${[...calls].map(([k, c]) => `${k} ${c.total}/${c.ok}/${c.valid}/${c.invalid}`).join('; ')}`);
  const report = [...failures]
    .map(([what, f]) => `${what} (×${f.count}, on ${[...f.ops].join(', ')}), e.g.\n  ${f.example}`)
    .join('\n\n');
  assert.equal(failures.size, 0, `seed ${SEED}: ${failures.size} properties broken\n\n${report}`);
  // Every stream the fuzzer opened and abandoned was closed by the server, not left running.
  const open = await eventually('abandoned streams to close', async () => {
    const counts = ctx.app.services.streams.counts();
    return Object.values(counts).every((n) => n === 0) && counts;
  }, 5_000).catch(() => ctx.app.services.streams.counts());
  assert.ok(Object.values(open).every((n) => n === 0), `streams still open: ${JSON.stringify(open)}`);

  assert.ok(total >= RUNS, `${total} requests sent`);
  // Every operation was driven, with valid and invalid requests; with the full count, every one also answered 2xx at least once.
  const atLeast = Math.floor(RUNS / ops.length / 4);
  for (const [key, c] of calls) {
    assert.ok(c.total >= atLeast, `${key} was called ${c.total} times, fewer than ${atLeast}`);
    if (RUNS >= 1_000) assert.ok(c.valid > 0, `${key} got no schema-valid request`);
    if (RUNS >= 1_000 && invalidOf.has(key)) assert.ok(c.invalid > 0, `${key} got no invalid request`);
    // A WebSocket's only success is the upgrade (101), which app.inject cannot make.
    const upgradeOnly = !byKey.get(key)!.statuses.some((s) => s >= 200 && s < 300);
    if (RUNS >= 10_000 && !upgradeOnly) assert.ok(c.ok > 0, `${key} never answered 2xx: the generators do not reach its happy path`);
  }
});
