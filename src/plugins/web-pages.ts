import { access } from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { DEMO_ACCOUNTS, DEMO_PASSWORD } from '../db/seed/demo-city.ts';
import { problemType } from '../errors.ts';

/** Each page's address and the HTML file Vite writes for it (web/vite.config.ts names the same files). */
export const PAGES = {
  '/': 'index.html',
  '/ops': 'ops.html',
  '/customer': 'customer.html',
  '/restaurant': 'restaurant.html',
  '/courier': 'courier.html',
} as const;

const HIDDEN = { schema: { hide: true } };

/**
 * Said to whoever opens a page of an API started without a build (the log says where it looked). A
 * deliberate answer rather than a thrown error: the error handler keeps a 5xx's detail to the log, and
 * this detail is the point.
 */
const NOT_BUILT = {
  type: problemType('pages-not-built'),
  title: 'Pages not built',
  status: 503,
  detail: 'The web pages are not built: run `npm run build:web` (`npm install` runs it), then restart the API.',
};

/**
 * The pages (web/, built by Vite into WEB_DIST_DIR), served by the API so they share its origin: the
 * strict CSP's `'self'` then admits their scripts, styles, fetches, streams and sockets with no
 * exception. Vite names every asset by its content hash, so assets are cached for a year as immutable;
 * the HTML that names them is revalidated on every load (`no-cache`), so a new build is seen at once.
 * Without a build the API still starts, and the pages answer 503 saying how to build them.
 * @see https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Cache-Control#immutable
 */
export default async function webPages(app: FastifyInstance, opts: { distDir: string; demoAccounts: boolean }) {
  const { distDir } = opts;
  const built = await access(path.join(distDir, 'index.html')).then(
    () => true,
    () => false,
  );
  if (!built) app.log.warn({ dist: distDir }, 'web pages not built: run `npm run build:web`; the API runs without them');

  await app.register(fastifyStatic, {
    root: path.join(distDir, 'assets'),
    prefix: '/assets/',
    index: false,
    wildcard: true,
    maxAge: '365d',
    immutable: true,
    schemaHide: true,
    // Said once above, in words that say what to do.
    suppressWarning: !built,
  });

  const page = async (file: string, reply: FastifyReply) => {
    if (!built) return reply.code(503).type('application/problem+json').serializer(JSON.stringify).send(NOT_BUILT);
    return reply.header('cache-control', 'no-cache').sendFile(file, distDir, { cacheControl: false });
  };
  for (const [url, file] of Object.entries(PAGES)) {
    app.get(url, HIDDEN, async (_req, reply) => page(file, reply));
  }

  // What the landing page shows of the demo city: its accounts, only where `dabba up` seeded them.
  const demo = opts.demoAccounts ? { password: DEMO_PASSWORD, accounts: DEMO_ACCOUNTS } : null;
  app.get('/pages.json', HIDDEN, async (_req, reply) => reply.header('cache-control', 'no-cache').send({ demo }));
}
