import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { build } from '../src/app.ts';
import { PAGES } from '../src/plugins/web-pages.ts';
import { partnerEnv, setup, testConfig } from './helper.ts';

/** A stand-in for web/dist as Vite writes it: one HTML file per page, hashed assets under assets/. */
const dist = await mkdtemp(path.join(tmpdir(), 'dabba-pages-'));
after(() => rm(dist, { recursive: true, force: true }));
await mkdir(path.join(dist, 'assets'));
const ASSET = 'assets/customer-B4xk9Qz1.js';
for (const file of Object.values(PAGES)) {
  await writeFile(path.join(dist, file), `<!doctype html><title>${file}</title><script type="module" src="/${ASSET}"></script>`);
}
await writeFile(path.join(dist, ASSET), 'document.title = "dabba";');

const ctx = await setup({ background: false, env: { WEB_DIST_DIR: dist } });

/** The same API with no build where WEB_DIST_DIR points. */
async function unbuiltApp() {
  const app = await build(testConfig(ctx.url, { ...partnerEnv(ctx.sim), WEB_DIST_DIR: path.join(dist, 'missing') }), { background: false });
  await app.ready();
  after(() => app.close());
  return app;
}

function assertStrictCsp(csp: unknown) {
  const policy = String(csp);
  assert.match(policy, /script-src 'self'(;|$)/, policy);
  assert.match(policy, /style-src 'self'(;|$)/, policy);
  assert.match(policy, /connect-src 'self'(;|$)/, policy);
  assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval/, policy);
}

describe('the pages', () => {
  it('answers each page with its HTML, revalidated on every load and under the strict CSP', async () => {
    for (const [url, file] of Object.entries(PAGES)) {
      const res = await ctx.app.inject(url);
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^text\/html/, url);
      assert.equal(res.headers['cache-control'], 'no-cache', url);
      assert.ok(res.body.includes(`<title>${file}</title>`), `${url} serves ${file}`);
      assertStrictCsp(res.headers['content-security-policy']);
      assert.equal(res.headers['x-frame-options'], 'DENY', url);
    }
  });

  it('serves hashed assets as immutable for a year', async () => {
    const res = await ctx.app.inject(`/${ASSET}`);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /javascript/);
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(res.body, 'document.title = "dabba";');
  });

  it('answers an unknown asset, or a path out of the assets folder, with a 404 problem', async () => {
    for (const url of ['/assets/missing-00000000.js', '/assets/..%2findex.html', '/assets/../../package.json']) {
      const res = await ctx.app.inject(url);
      assert.equal(res.statusCode, 404, `${url}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/, url);
    }
  });

  it('shows no demo accounts where no demo city was seeded', async () => {
    const res = await ctx.app.inject('/pages.json');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { demo: null });
  });

  it('without a build, still starts and answers the pages with a problem that says how to build them', async () => {
    const app = await unbuiltApp();
    for (const url of Object.keys(PAGES)) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 503, url);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/, url);
      const problem = res.json() as { type: string; detail: string };
      assert.match(problem.type, /pages-not-built$/);
      assert.match(problem.detail, /npm run build:web/);
    }
    assert.equal((await app.inject('/healthz')).statusCode, 200, 'the API itself works');
  });
});
