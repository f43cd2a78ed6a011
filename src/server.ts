import type { App } from './app.ts';
import { build, type BuildOptions } from './app.ts';
import type { Config } from './config.ts';
import { migrateToLatest } from './db/migrate.ts';
import { seedDemoCity } from './db/seed/demo-city.ts';

/**
 * Starts the API: build → migrate (under an advisory lock) → seed an empty development database →
 * listen. The caller owns shutdown through `stopServer`.
 */
export async function startServer(config: Config, opts: BuildOptions = {}): Promise<App> {
  const app = await build(config, opts);
  try {
    const applied = await migrateToLatest(app.db);
    if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied');
    if (config.seedDemo && (await seedDemoCity(app.db))) app.log.info('demo city seeded');
    // Longer than a typical load balancer's idle timeout, so the balancer closes idle sockets first.
    app.server.keepAliveTimeout = 72_000;
    app.server.headersTimeout = 75_000;
    app.server.requestTimeout = 60_000;
    await app.listen({ port: config.port, host: config.host });
    return app;
  } catch (err) {
    await app.close();
    throw err;
  }
}

/** Graceful stop: not ready at once, then Fastify stops accepting and waits for in-flight requests. */
export async function stopServer(app: App) {
  app.services.health.markShuttingDown();
  await app.close();
}
