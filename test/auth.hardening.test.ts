import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createSigner } from 'fast-jwt';
import pg from 'pg';
import { freePort } from '../bench/processes.ts';
import { build } from '../src/app.ts';
import { createTestDatabase, createUser, eventually, partnerEnv, setup, testConfig } from './helper.ts';

// Node A: the default account cache (15 s), so what it refuses at once it refuses by eviction, not by
// expiry; every query counted. Node B: the same database and a 300 ms cache.
let tokenLookups = 0;
const ctx = await setup({
  onQuery: (_ms, sql) => {
    if (/select "role", "token_version" from "users"/.test(sql)) tokenLookups++;
  },
});
const SECRET = testConfig(ctx.url).jwt.secret;
const nodeB = await build(
  testConfig(ctx.url, { ...partnerEnv(ctx.sim), AUTH_CACHE_TTL_MS: '300' }),
  { background: false },
);
await nodeB.ready();
after(() => nodeB.close());

const PASSWORD = 'a perfectly long password';
const freshEmail = (name = 'user') => `${name}-${randomUUID().slice(0, 8)}@dabba.test`;
type Node = typeof ctx.app;

const me = (authorization: string, node: Node = ctx.app) => node.inject({ url: '/v1/auth/me', headers: { authorization } });
const login = (email: string, password: string, node: Node = ctx.app) =>
  node.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });

async function register(email = freshEmail()) {
  const res = await ctx.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email, password: PASSWORD, name: 'Hardy' } });
  assert.equal(res.statusCode, 201, res.body);
  return { email, ...(res.json() as { token: string; user: { id: string } }) };
}

describe('tokens carry and are checked for exp, iss, aud and the account version', async () => {
  const user = await createUser(ctx, 'customer');
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: user.id, role: 'customer', ver: 1, iss: 'dabba', aud: 'dabba-api', exp: now + 600 };
  // No defaults: each token holds exactly the claims given (and iat).
  const sign = (payload: Record<string, unknown>) => createSigner({ key: SECRET, algorithm: 'HS256' })(payload);
  const without = (claim: keyof typeof claims) => Object.fromEntries(Object.entries(claims).filter(([k]) => k !== claim));

  it('controls: a token issued by the app, and one made here with every claim, are accepted', async () => {
    assert.equal((await me(user.auth.authorization)).statusCode, 200);
    assert.equal((await me(`Bearer ${sign(claims)}`)).statusCode, 200);
    const issued = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString('utf8'));
    assert.equal(issued.iss, 'dabba');
    assert.equal(issued.aud, 'dabba-api');
    assert.equal(issued.ver, 1);
    assert.ok(issued.exp > now && issued.iat <= now + 1, JSON.stringify(issued));
  });

  const refused: [string, Record<string, unknown>][] = [
    ['without exp (a token that never expires)', without('exp')],
    ['without iss', without('iss')],
    ['without aud', without('aud')],
    ['without ver', without('ver')],
    ['for another audience', { ...claims, aud: 'another-api' }],
    ['for a list of audiences without ours', { ...claims, aud: ['another-api', 'dabba-admin'] }],
    ['from another issuer', { ...claims, iss: 'someone-else' }],
    ['expired a minute ago', { ...claims, exp: now - 60 }],
    ['of an older account version', { ...claims, ver: 0 }],
    ['naming a role the account does not have', { ...claims, role: 'admin' }],
    ['whose subject is not an account id', { ...claims, sub: 'admin' }],
  ];
  for (const [name, payload] of refused) {
    it(`a token signed with the right key but ${name} is 401`, async () => {
      const res = await me(`Bearer ${sign(payload)}`);
      assert.equal(res.statusCode, 401, res.body);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    });
  }
});

describe('logging out, role changes and deletion take effect', () => {
  it('logging out answers 204 and revokes every token of the account at once (log out everywhere); a new sign-in works', async () => {
    const account = await register();
    const second = (await login(account.email, PASSWORD)).json().token as string;
    assert.equal((await me(`Bearer ${account.token}`)).statusCode, 200);
    assert.equal((await me(`Bearer ${second}`)).statusCode, 200);

    const out = await ctx.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { authorization: `Bearer ${second}` } });
    assert.equal(out.statusCode, 204, out.body);
    assert.equal(out.body, '');
    assert.equal((await me(`Bearer ${account.token}`)).statusCode, 401, 'the other device is logged out too');
    assert.equal((await me(`Bearer ${second}`)).statusCode, 401);
    assert.equal(
      (await ctx.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { authorization: `Bearer ${second}` } })).statusCode,
      401,
    );

    const again = await login(account.email, PASSWORD);
    assert.equal(again.statusCode, 200, again.body);
    assert.equal((await me(`Bearer ${again.json().token}`)).statusCode, 200);
  });

  it('a logout through one node reaches another within its cache TTL', async () => {
    const account = await register();
    assert.equal((await me(`Bearer ${account.token}`, nodeB)).statusCode, 200, 'node B has the account cached');
    const out = await ctx.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { authorization: `Bearer ${account.token}` } });
    assert.equal(out.statusCode, 204);
    await eventually('node B to refuse the logged-out token', async () => (await me(`Bearer ${account.token}`, nodeB)).statusCode === 401, 10_000);
  });

  it('a role changed in the database stops the old token within the cache TTL', async () => {
    const admin = await createUser(ctx, 'admin');
    assert.equal((await me(admin.auth.authorization, nodeB)).statusCode, 200);
    await ctx.sql.query(`UPDATE users SET role = 'customer' WHERE id = $1`, [admin.id]);
    await eventually('the demoted admin token to be refused', async () => (await me(admin.auth.authorization, nodeB)).statusCode === 401, 10_000);
    // Changing the role back does not revive it: a role change bumps the token version.
    await ctx.sql.query(`UPDATE users SET role = 'admin' WHERE id = $1`, [admin.id]);
    assert.equal((await me(admin.auth.authorization, nodeB)).statusCode, 401);
  });

  it('a deleted account stops its token within the cache TTL', async () => {
    const customer = await createUser(ctx, 'customer');
    assert.equal((await me(customer.auth.authorization, nodeB)).statusCode, 200);
    await ctx.sql.query('DELETE FROM users WHERE id = $1', [customer.id]);
    await eventually('the deleted account token to be refused', async () => (await me(customer.auth.authorization, nodeB)).statusCode === 401, 10_000);
  });

  it('on the node that made a change, evicting the account makes it hold at once', async () => {
    const courier = await createUser(ctx, 'courier');
    assert.equal((await me(courier.auth.authorization)).statusCode, 200);
    await ctx.sql.query(`UPDATE users SET role = 'customer' WHERE id = $1`, [courier.id]);
    ctx.app.services.auth.evict(courier.id);
    assert.equal((await me(courier.auth.authorization)).statusCode, 401);
  });

  it('requests do not each ask the database: one account lookup serves many requests', async () => {
    const customer = await createUser(ctx, 'customer');
    const before = tokenLookups;
    await Promise.all(Array.from({ length: 5 }, () => me(customer.auth.authorization)));
    for (let i = 0; i < 15; i++) assert.equal((await me(customer.auth.authorization)).statusCode, 200);
    assert.equal(tokenLookups - before, 1);
  });
});

describe('token answers are not cached', () => {
  for (const [name, send] of [
    ['register', async () => ctx.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: freshEmail(), password: PASSWORD, name: 'N' } })],
    ['login', async () => login((await register()).email, PASSWORD)],
    ['a refused login', async () => login(freshEmail('nobody'), PASSWORD)],
  ] as const) {
    it(`${name} answers with Cache-Control: no-store and Pragma: no-cache`, async () => {
      const res = await send();
      assert.ok(res.statusCode < 500, res.body);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers.pragma, 'no-cache');
    });
  }
});

describe('failed sign-ins lock an email out for a while', () => {
  const expectLocked = (res: Awaited<ReturnType<typeof login>>, maxSeconds: number) => {
    assert.equal(res.statusCode, 429, res.body);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    const retryAfter = Number(res.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= maxSeconds, `Retry-After ${res.headers['retry-after']}`);
    assert.equal(res.json().token, undefined);
  };

  it('after 5 failures, every attempt for the email is refused with 429 and Retry-After up to 15 minutes, the right password included', async () => {
    const { email } = await register();
    for (let i = 0; i < 5; i++) assert.equal((await login(email, `wrong ${i}`)).statusCode, 401);
    expectLocked(await login(email, 'wrong again'), 900);
    expectLocked(await login(email, PASSWORD), 900);
    expectLocked(await login(email.toUpperCase(), PASSWORD), 900);
  });

  it('an email nobody has is locked out after the same failures with the very same answers', async () => {
    const { email } = await register();
    const nobody = freshEmail('nobody');
    for (let i = 0; i < 5; i++) {
      const [known, unknown] = [await login(email, `wrong ${i}`), await login(nobody, `wrong ${i}`)];
      assert.equal(known.statusCode, 401);
      assert.deepEqual(known.json(), unknown.json());
    }
    const [known, unknown] = [await login(email, 'wrong'), await login(nobody, 'wrong')];
    expectLocked(known, 900);
    expectLocked(unknown, 900);
    assert.deepEqual(known.json(), unknown.json());
    assert.equal(known.headers['retry-after'] !== undefined, unknown.headers['retry-after'] !== undefined);
  });

  it('a successful sign-in resets the count', async () => {
    const { email } = await register();
    for (let i = 0; i < 4; i++) assert.equal((await login(email, 'wrong')).statusCode, 401);
    assert.equal((await login(email, PASSWORD)).statusCode, 200);
    for (let i = 0; i < 4; i++) assert.equal((await login(email, 'wrong')).statusCode, 401);
    assert.equal((await login(email, PASSWORD)).statusCode, 200);
  });

  it('the count is in the database: a lock-out earned through one node holds on another', async () => {
    const { email } = await register();
    for (let i = 0; i < 6; i++) await login(email, 'wrong');
    expectLocked(await login(email, PASSWORD, nodeB), 900);
  });

  it('once the lock-out has run its time, the right password signs in again', async () => {
    const { email } = await register();
    for (let i = 0; i < 6; i++) await login(email, 'wrong');
    expectLocked(await login(email, PASSWORD), 900);
    // 15 minutes later, as the database sees it.
    await ctx.sql.query(
      `UPDATE login_failures SET locked_until = now() - interval '1 second', window_started_at = now() - interval '30 minutes'
        WHERE email_key = lower($1)`,
      [email],
    );
    assert.equal((await login(email, PASSWORD)).statusCode, 200);
  });
});

describe('security headers', () => {
  it('every answer carries nosniff, HSTS and a same-origin CSP without inline code', async () => {
    for (const url of ['/healthz', '/v1/restaurants?lat=19.076&lng=72.8777', '/v1/auth/me', '/no-such-page']) {
      const res = await ctx.app.inject(url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
      assert.match(String(res.headers['strict-transport-security']), /^max-age=\d{7,}/, url);
      const csp = String(res.headers['content-security-policy']);
      for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "object-src 'none'", "frame-ancestors 'none'"]) {
        assert.ok(csp.split(';').some((d) => d.trim() === directive), `${url}: ${directive} in ${csp}`);
      }
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, url);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
    }
  });

  it('the interactive docs still load under that policy: no inline code, every asset same-origin', async () => {
    const entry = await ctx.app.inject('/docs');
    assert.ok([200, 302].includes(entry.statusCode), `${entry.statusCode}`);
    const redirected = await ctx.app.inject('/docs/static/index.html');
    assert.equal(redirected.statusCode, 302);
    const page = await ctx.app.inject(String(redirected.headers.location));
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.ok(page.headers['content-security-policy']);
    const html = page.body;
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline <script>');
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 4, html);
    for (const asset of assets) {
      assert.ok(!/^[a-z]+:|^\/\//i.test(asset), `${asset} is same-origin`);
      const res = await ctx.app.inject(new URL(asset, 'http://x/docs/').pathname);
      assert.equal(res.statusCode, 200, asset);
    }
    assert.equal((await ctx.app.inject('/docs/json')).statusCode, 200);
  });
});

describe('`dabba serve` is production whatever NODE_ENV says; `dabba up` says it is not', () => {
  const CLI = path.resolve('src/cli.ts');
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  function run(args: string[], env: Record<string, string>) {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'JWT_SECRET' && k !== 'NODE_ENV'));
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...inherited, LOG_LEVEL: 'warn', SHED_MAX_LOOP_DELAY_MS: '0', ...partnerEnv(ctx.sim), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    return { child, exited, output: () => output };
  }
  async function ready(port: number, proc: ReturnType<typeof run>) {
    await eventually(`readiness on ${port}`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`exited early:\n${proc.output()}`);
      return fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    }, 60_000);
  }

  for (const [name, env] of [
    ['no JWT_SECRET', {}],
    ['no JWT_SECRET, even with NODE_ENV=development', { NODE_ENV: 'development' }],
    ['the published development secret', { NODE_ENV: 'development', JWT_SECRET: SECRET }],
  ] as const) {
    it(`with ${name}, \`dabba serve\` exits 1 with one line naming JWT_SECRET`, async () => {
      const db = await createTestDatabase();
      after(db.drop);
      const proc = run(['serve'], { DATABASE_URL: db.url, PORT: String(await freePort()), ...env });
      // Bounded: a serve that starts instead would otherwise hold the test until its timeout.
      const stopped = setTimeout(() => proc.child.kill('SIGKILL'), 30_000);
      const [code] = await proc.exited;
      clearTimeout(stopped);
      assert.equal(code, 1, `it started instead:\n${proc.output()}`);
      const lines = proc.output().trim().split('\n');
      assert.equal(lines.length, 1, proc.output());
      assert.match(lines[0]!, /^Invalid configuration: JWT_SECRET /);
      assert.doesNotMatch(lines[0]!, new RegExp(SECRET));
    });
  }

  it('with NODE_ENV=development and SEED_DEMO=true, `dabba serve` does not seed the demo city', async () => {
    const db = await createTestDatabase();
    after(db.drop);
    const port = await freePort();
    const proc = run(['serve'], {
      DATABASE_URL: db.url,
      PORT: String(port),
      NODE_ENV: 'development',
      SEED_DEMO: 'true',
      JWT_SECRET: 'a-real-secret-of-more-than-32-characters',
    });
    await ready(port, proc);
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    await sql.end();
    assert.equal(rows[0]!.n, 0, 'no demo accounts');
    assert.doesNotMatch(proc.output(), /development mode|dabba-demo/);
    proc.child.kill('SIGTERM');
    assert.equal((await proc.exited)[0], 0, proc.output());
  });

  it('`dabba up` says first that it is development: the published secret and the demo accounts', async () => {
    const db = await createTestDatabase();
    after(db.drop);
    const port = await freePort();
    const proc = run(['up'], { DATABASE_URL: db.url, PORT: String(port) });
    // Said before anything starts, so there is no need to wait for the seeding.
    await eventually('the first line', async () => proc.output().includes('\n'), 30_000);
    const first = proc.output().split('\n')[0]!;
    assert.match(first, /^development mode/);
    assert.match(first, /published development secret/);
    assert.match(first, /demo accounts/);
    assert.match(first, /dabba serve/);
    proc.child.kill('SIGTERM');
    await proc.exited;
  });
});
