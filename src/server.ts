import { build, type BuildOptions } from './app.ts';
import type { App } from './app.types.ts';
import type { Config } from './config.ts';
import { shutdownTracing } from './ops/tracing.ts';

/**
 * Starts the API: build (which migrates under an advisory lock and seeds an empty development
 * database) → listen, background work starting once the app is ready. The caller owns shutdown
 * through `stopServer`.
 */
export async function startServer(config: Config, opts: BuildOptions = {}): Promise<App> {
  const app = await build(config, opts);
  try {
    // Longer than a typical load balancer's idle timeout, so the balancer closes idle sockets first.
    app.server.keepAliveTimeout = 72_000;
    // Reading a request is bounded, and short: its headers within 10 s of its first byte, the whole of it
    // (our JSON bodies are at most 1 MiB) within 20 s, else 408 and the connection is closed, so connections
    // that trickle bytes cannot pile up. Node times each request from its first byte (an idle keep-alive
    // connection is not timed) until its body is in: handlers are not cut. It checks every
    // connectionsCheckingInterval, which app.ts sets to 500 ms (30 s by default).
    // @see https://nodejs.org/api/http.html#serverrequesttimeout
    app.server.headersTimeout = config.requestTimeouts.headersMs;
    app.server.requestTimeout = config.requestTimeouts.wholeMs;
    await app.listen({ port: config.port, host: config.host });
    return app;
  } catch (err) {
    await app.close();
    throw err;
  }
}

/**
 * Graceful stop: /readyz turns false at once; the listener stops accepting and idle keep-alive
 * connections close; requests in flight (and the checkouts inside them) finish; then background work
 * stops (jobs stop being taken while running ones finish) and the pools close (the services plugin's
 * onClose). Connections still busy after `timeoutMs` are cut so the process always ends.
 */
export async function stopServer(app: App, timeoutMs: number) {
  app.services.health.markShuttingDown();
  const deadline = setTimeout(() => {
    app.log.warn('shutdown deadline passed; closing the remaining connections');
    app.server.closeAllConnections();
  }, timeoutMs);
  deadline.unref();
  try {
    await app.close();
  } finally {
    clearTimeout(deadline);
  }
  // Spans still batched (the last requests, the drain itself) are exported before the process exits;
  // bounded, so an unreachable collector cannot hold the exit up.
  const flushed = new Promise((resolve) => setTimeout(resolve, 2_000).unref());
  await Promise.race([shutdownTracing().catch(() => {}), flushed]);
}
