/**
 * The faults a round can suffer, the seeded schedule that picks one per round, and their injection.
 * One fault per round, so a violation points at its cause.
 */
import type { ApiProcess, ChaosDatabase, ChaosSim, Partner } from './chaos-env.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type FaultKind = 'kill' | 'partner' | 'postgres';
export type PartnerMode = 'down' | 'hang' | 'errors';

export interface Fault {
  kind: FaultKind;
  partner?: Partner;
  mode?: PartnerMode;
  errorRate?: number;
  /** How long the partner misbehaves, or PostgreSQL stays down; 0 for a kill (restarted at once). */
  durationMs: number;
}

export interface RoundSpec {
  round: number;
  fault: Fault;
  /** When, counted from the burst's first request, the fault is injected. */
  whenMs: number;
  orders: number;
}

/** mulberry32: a small seeded generator, so `--seed S` replays the same schedule, plans and carts. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}
export type Rng = ReturnType<typeof rng>;

const FAULTY_PARTNERS: readonly Partner[] = ['payments', 'pos', 'eta', 'notify'];
const MODES: readonly PartnerMode[] = ['down', 'hang', 'errors'];

/** Each round draws its carts and plans from a generator of its own, so round N is the same whatever `--rounds` says. */
export const roundSeed = (seed: number, round: number) => (seed ^ Math.imul(round, 0x9e3779b1)) >>> 0;

/**
 * Every block of rounds holds each fault kind once, in a seeded order, so a campaign of N rounds
 * covers every kind when N is at least the number of kinds (the quick CI run relies on that). Drawn
 * block by block, so the first N rounds of a seed are the same in a longer campaign.
 */
export function schedule(r: Rng, rounds: number, kinds: readonly FaultKind[], opts: { thenOnly?: FaultKind } = {}): RoundSpec[] {
  const specs: RoundSpec[] = [];
  while (specs.length < rounds) {
    // `thenOnly`: after the first block, only this kind (the quick run's cheap extra rounds).
    const block = specs.length > 0 && opts.thenOnly ? [opts.thenOnly] : [...kinds];
    for (let i = block.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [block[i], block[j]] = [block[j]!, block[i]!];
    }
    for (const kind of block) {
      const fault: Fault =
        kind === 'kill'
          ? { kind, durationMs: 0 }
          : kind === 'postgres'
            ? { kind, durationMs: r.int(1_000, 4_000) }
            : { kind, partner: r.pick(FAULTY_PARTNERS), mode: r.pick(MODES), durationMs: r.int(2_000, 6_000) };
      if (fault.mode === 'errors') fault.errorRate = r.int(5, 9) / 10;
      specs.push({ round: specs.length + 1, fault, whenMs: r.int(50, 2_500), orders: r.int(20, 40) });
    }
  }
  return specs.slice(0, rounds);
}

export function describe(f: Fault) {
  if (f.kind === 'kill') return 'kill -9 API';
  if (f.kind === 'postgres') return `PostgreSQL restart (${(f.durationMs / 1000).toFixed(1)} s down)`;
  const how = f.mode === 'errors' ? `errors ${Math.round((f.errorRate ?? 0) * 100)}%` : f.mode;
  return `${f.partner} ${how} ${(f.durationMs / 1000).toFixed(1)} s`;
}

export interface FaultLog {
  /** ms from the burst's start to the injection, as it happened. */
  injectedAtMs: number;
  /** ms from the injection until the fault was cleared (the API restarted, the partner normal, PostgreSQL up). */
  lastedMs: number;
  notes: string[];
}

/**
 * Injects `fault` `whenMs` after `start`, holds it, then clears it. A kill is followed at once by a
 * start of the same command; a PostgreSQL restart leaves the API alone: riding it out is its job.
 */
export async function inject(
  fault: Fault,
  start: number,
  whenMs: number,
  env: { api: ApiProcess; sim: ChaosSim; db: ChaosDatabase },
): Promise<FaultLog> {
  await sleep(Math.max(0, start + whenMs - Date.now()));
  const injectedAtMs = Date.now() - start;
  const t0 = Date.now();
  const notes: string[] = [];
  if (fault.kind === 'kill') {
    const pid = env.api.pid;
    await env.api.kill9();
    const t1 = Date.now();
    await env.api.start();
    notes.push(`killed pid ${pid}; restarted as pid ${env.api.pid}, ready in ${Date.now() - t1} ms`);
  } else if (fault.kind === 'partner') {
    const partner = fault.partner!;
    await env.sim.set(partner, fault.mode === 'errors' ? { error_rate: fault.errorRate } : { mode: fault.mode });
    await sleep(fault.durationMs);
    await env.sim.normal();
  } else {
    await env.db.restart(fault.durationMs);
    notes.push(`PostgreSQL back after ${Date.now() - t0} ms`);
  }
  return { injectedAtMs, lastedMs: Date.now() - t0, notes };
}
