import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import pino from 'pino';
import type { Config } from './config.ts';

/**
 * `dabba serve --workers N`: N API processes on one machine sharing the port (the primary hands
 * out connections). A worker that dies is logged and replaced; SIGTERM/SIGINT reach every worker,
 * which drain as a single process would; a second signal ends them at once.
 */
export async function superviseWorkers(config: Config, entry: string[]) {
  const log = pino({ level: config.logLevel, base: { pid: process.pid, role: 'primary' } });
  cluster.setupPrimary({ exec: entry[0], args: entry.slice(1) });
  let stopping = false;
  // A worker is "ready" once it listens (it says so); one that dies before that cannot boot, and
  // respawning it would only spin.
  const ready = new Set<number>();

  const fork = () => {
    const worker = cluster.fork({ WORKERS: '1' });
    worker.on('message', (message) => {
      if (message === 'ready') ready.add(worker.id);
    });
    worker.on('exit', (code, signal) => onExit(worker, code, signal));
  };

  const onExit = (worker: Worker, code: number | null, signal: string | null) => {
    const wasReady = ready.delete(worker.id);
    if (stopping) return;
    log.error({ worker: worker.process.pid, code, signal, was_ready: wasReady }, 'API worker died');
    if (!wasReady) {
      log.fatal('a worker died while starting; stopping instead of respawning');
      void stop('SIGTERM', 1);
      return;
    }
    fork();
  };

  const stop = async (signal: NodeJS.Signals, exitCode = 0) => {
    if (stopping) {
      log.warn('second signal: ending workers now');
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping workers');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    await Promise.all(
      workers.map(async (w) => {
        const exited = once(w, 'exit');
        w.process.kill('SIGTERM');
        await exited;
      }),
    );
    process.exit(exitCode);
  };

  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  for (let i = 0; i < config.workers; i++) fork();
  log.info({ workers: config.workers, port: config.port }, 'API workers starting');
}
