import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface Started {
  child: ChildProcess;
  pid: number;
  output: () => string;
  /** The first error and fatal log lines it wrote (pino JSON at level 50 or 60), kept whatever else it wrote since. */
  errors: () => string[];
  stop(): Promise<void>;
}

/** Starts `node <args>` and resolves once its output matches `ready`, or once `ready` (a URL) answers 2xx. */
export async function startNode(args: string[], env: Record<string, string>, ready: RegExp | URL, timeoutMs = 90_000): Promise<Started> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const errors: string[] = [];
  let partial = '';
  const seen = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output = (output + d.toString()).slice(-20_000);
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!.slice(-8_000);
      for (const line of lines) if (errors.length < 20 && /"level":(50|60)[,}]/.test(line)) errors.push(line.slice(0, 4_000));
      if (ready instanceof RegExp && ready.test(output)) resolve();
    };
    if (ready instanceof URL) {
      const poll = setInterval(() => {
        void fetch(ready).then(
          (r) => {
            if (!r.ok) return;
            clearInterval(poll);
            resolve();
          },
          () => {},
        );
      }, 200);
      child.once('exit', () => clearInterval(poll));
    }
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`)));
    setTimeout(() => reject(new Error(`${args.join(' ')} not ready in ${timeoutMs} ms:\n${output}`)), timeoutMs).unref();
  });
  await seen;
  return {
    child,
    pid: child.pid!,
    output: () => output,
    errors: () => errors,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a child to completion and returns its standard output. */
export async function runNode(args: string[], timeoutMs: number): Promise<string> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}`);
  return out;
}

const TICKS_PER_SECOND = 100;

/** The process and every process under it (`dabba serve --workers N`'s workers), from /proc. */
async function processTree(pid: number): Promise<number[]> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const below = await Promise.all(children.split(' ').filter(Boolean).map((c) => processTree(Number(c))));
  return [pid, ...below.flat()];
}

/** CPU time of this one process alone (for PostgreSQL, whose backends are the postmaster's children). */
export async function ownCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) || 0) + (Number(fields[12]) || 0)) * (1000 / TICKS_PER_SECOND);
}

async function ownRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** CPU time (user + system) a process and the processes under it have used, in ms, from /proc. */
export async function cpuMs(pid: number): Promise<number> {
  return sum(await Promise.all((await processTree(pid)).map(ownCpuMs)));
}

/** Resident memory of a process and the processes under it. */
export async function rssMb(pid: number): Promise<number> {
  return sum(await Promise.all((await processTree(pid)).map(ownRssMb)));
}

/** Pids of every process with this command name (e.g. all PostgreSQL backends). */
export async function pidsNamed(name: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === name) pids.push(Number(entry));
  }
  return pids;
}

/** Whole-machine CPU time so far, in ms (all cores). */
export async function machineCpuMs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const ticks = line.split(/\s+/).slice(1, 8).map(Number);
  return ticks.reduce((a, b) => a + b, 0) * (1000 / TICKS_PER_SECOND);
}

/** Samples a process's RSS while `work` runs; returns the work's result and the peak. */
export async function withPeakRss<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; peakMb: number }> {
  let peak = await rssMb(pid);
  const timer = setInterval(() => void rssMb(pid).then((mb) => (peak = Math.max(peak, mb))), 200);
  try {
    const value = await work();
    peak = Math.max(peak, await rssMb(pid));
    return { value, peakMb: peak };
  } finally {
    clearInterval(timer);
  }
}
