import type { ChildProcess } from 'node:child_process';

/**
 * A child this process started ends with it, even when a stop overruns its time (or a second signal
 * comes) and the process exits at once: otherwise a partner simulator or an embedded PostgreSQL lives
 * on, holding its port and its data directory, and the next start fails on them.
 */
export function endsWithUs(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM') {
  const end = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  process.once('exit', end);
  child.once('exit', () => process.off('exit', end));
  return child;
}
