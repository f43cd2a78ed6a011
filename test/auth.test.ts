import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSigner } from 'fast-jwt';
import { TEST_PASSWORD, createUser, setup, testConfig } from './helper.ts';

const ctx = await setup();
const secret = testConfig(ctx.url).jwt.secret;

const PASSWORD = 'a perfectly long password';
const freshEmail = (name = 'user') => `${name}-${randomUUID().slice(0, 8)}@dabba.test`;

function register(payload: object) {
  return ctx.app.inject({ method: 'POST', url: '/v1/auth/register', payload });
}

function login(email: string, password: string) {
  return ctx.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
}

function me(authorization?: string) {
  return ctx.app.inject({ url: '/v1/auth/me', headers: authorization === undefined ? {} : { authorization } });
}

async function usersWith(email: string) {
  const { rows } = await ctx.sql.query<{ id: string; role: string; password_hash: string }>(
    'SELECT id, role, password_hash FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  return rows;
}

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
}

describe('registering', () => {
  it('creates a customer and answers 201 with a token that works on GET /v1/auth/me', async () => {
    const email = freshEmail('asha');
    const res = await register({ email, password: PASSWORD, name: 'Asha' });
    assert.equal(res.statusCode, 201, res.body);
    const session = res.json();
    assert.equal(session.token_type, 'Bearer');
    assert.ok(session.expires_in > 0);
    assert.equal(session.user.role, 'customer');
    assert.equal(session.user.email, email);
    assert.equal(session.token.split('.').length, 3);

    const who = await me(`Bearer ${session.token}`);
    assert.equal(who.statusCode, 200, who.body);
    assert.equal(who.json().id, session.user.id);
    assert.equal(who.json().email, email);
    assert.equal(who.json().role, 'customer');
    assert.equal((await usersWith(email)).length, 1);
  });

  it('a role sent with the registration is ignored: the account is a customer', async () => {
    const email = freshEmail('mallory');
    const res = await register({ email, password: PASSWORD, name: 'Mallory', role: 'admin' });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().user.role, 'customer');
    assert.deepEqual((await usersWith(email)).map((u) => u.role), ['customer']);
  });

  it('when the email is already taken in any letter case, the answer is 409 and no second account exists', async () => {
    const email = freshEmail('dup');
    assert.equal((await register({ email, password: PASSWORD, name: 'First' })).statusCode, 201);
    for (const again of [email, email.toUpperCase(), `${email[0]!.toUpperCase()}${email.slice(1)}`]) {
      expectProblem(await register({ email: again, password: `${PASSWORD}!`, name: 'Second' }), 409);
    }
    assert.equal((await usersWith(email)).length, 1);
  });

  it('when the password is shorter than 10 characters, the answer is 400 on the password and nothing is created', async () => {
    const email = freshEmail('weak');
    const res = await register({ email, password: '123456789', name: 'Weak' });
    expectProblem(res, 400);
    assert.ok(res.json().errors.some((e: { field: string }) => e.field === 'body/password'), res.body);
    assert.equal((await usersWith(email)).length, 0);
    assert.equal((await register({ email, password: '1234567890', name: 'Ten' })).statusCode, 201);
  });
});

describe('logging in', () => {
  it('with the right password answers 200 and a working token; the email may be in any case', async () => {
    const email = freshEmail('login');
    await register({ email, password: PASSWORD, name: 'Login' });
    for (const typed of [email, email.toUpperCase()]) {
      const res = await login(typed, PASSWORD);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().user.email, email);
      assert.equal(res.json().user.password_hash, undefined);
      assert.equal((await me(`Bearer ${res.json().token}`)).json().email, email);
    }
  });

  it('a wrong password and an unknown email get the same 401 and the very same problem body', async () => {
    const email = freshEmail('same');
    await register({ email, password: PASSWORD, name: 'Same' });
    const wrongPassword = await login(email, `${PASSWORD}x`);
    const unknownEmail = await login(freshEmail('nobody'), PASSWORD);
    expectProblem(wrongPassword, 401);
    expectProblem(unknownEmail, 401);
    assert.deepEqual(wrongPassword.json(), unknownEmail.json());
    assert.equal(wrongPassword.json().token, undefined);
  });

  it('stores the password only as a salted scrypt hash', async () => {
    const a = freshEmail('hash');
    const b = freshEmail('hash');
    await register({ email: a, password: PASSWORD, name: 'A' });
    await register({ email: b, password: PASSWORD, name: 'B' });
    const [ha, hb] = [(await usersWith(a))[0]!.password_hash, (await usersWith(b))[0]!.password_hash];
    for (const hash of [ha, hb]) {
      assert.ok(hash.startsWith('scrypt$'), hash);
      assert.ok(!hash.includes(PASSWORD));
      assert.ok(!hash.includes(Buffer.from(PASSWORD).toString('base64')));
    }
    assert.notEqual(ha, hb, 'the same password must hash differently for two accounts');
  });

  it('accounts created by the factories log in too (the harness password)', async () => {
    const courier = await createUser(ctx, 'courier');
    const res = await login(courier.email, TEST_PASSWORD);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().user.role, 'courier');
  });
});

describe('bearer tokens', () => {
  it('an expired token is refused with 401, while the same claims unexpired are accepted', async () => {
    const user = await createUser(ctx, 'customer');
    const now = Math.floor(Date.now() / 1000);
    const sign = createSigner({ key: secret, algorithm: 'HS256', iss: 'dabba', aud: 'dabba-api' });
    const valid = sign({ sub: user.id, role: 'customer', ver: 1, iat: now - 60, exp: now + 600 });
    const expired = sign({ sub: user.id, role: 'customer', ver: 1, iat: now - 7200, exp: now - 60 });
    assert.equal((await me(`Bearer ${valid}`)).statusCode, 200);
    expectProblem(await me(`Bearer ${expired}`), 401);
  });

  it('garbage, a forged signature, an unknown role, and no token at all are all 401', async () => {
    const user = await createUser(ctx, 'customer');
    const claims = { algorithm: 'HS256', iss: 'dabba', aud: 'dabba-api', expiresIn: 60_000 } as const;
    const forged = createSigner({ key: 'x'.repeat(48), ...claims })({ sub: user.id, role: 'admin', ver: 1 });
    const oddRole = createSigner({ key: secret, ...claims })({ sub: user.id, role: 'superuser', ver: 1 });
    const [header, payload] = user.token.split('.');
    const unsigned = `${header}.${payload}.`;
    for (const authorization of [
      'Bearer garbage',
      'Bearer a.b.c',
      `Bearer ${forged}`,
      `Bearer ${oddRole}`,
      `Bearer ${unsigned}`,
      user.token,
      `Basic ${Buffer.from(`${user.email}:${TEST_PASSWORD}`).toString('base64')}`,
      undefined,
    ]) {
      expectProblem(await me(authorization), 401);
    }
    assert.equal((await me(user.auth.authorization)).statusCode, 200);
  });
});
