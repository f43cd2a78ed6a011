import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';
import type { Metrics } from '../ops/metrics.ts';

/**
 * The first key of every dispatch lock ('dabb' in ASCII). Two-key advisory locks live in a key space of
 * their own, apart from the one-key locks pg-boss takes.
 * @see https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS
 */
export const LOCK_NAMESPACE = 0x64616262;

/**
 * The second key: a 32-bit FNV-1a hash of the zone's H3 index. Two zones sharing a hash are simply led
 * together by one node (a session may take a lock it holds again), so a collision never gives a zone
 * two leaders.
 */
export function zoneLockKey(zone: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < zone.length; i++) h = Math.imul(h ^ zone.charCodeAt(i), 0x01000193);
  return h | 0;
}

export interface ZoneLeasesOptions {
  url: string;
  checkMs: number;
  /** The zones worth leading (those with restaurants); read at every check, so it should cache. */
  zones: () => Promise<Iterable<string>>;
  metrics?: Pick<Metrics, 'dispatchLeadership'>;
  log: FastifyBaseLogger;
}

/** `acquired`: this node now dispatches the zone. `lost`: it must stop at once (connection gone, or closing). */
type LeaseEvents = { acquired: [zone: string]; lost: [zone: string] };

/**
 * Which zones this node dispatches: exactly one node per zone, elected by a PostgreSQL session-level
 * advisory lock per zone. The locks are held on one dedicated connection, never a pooled one (the
 * pool would hand the session, and with it the locks, to whichever query came next). Every `checkMs`
 * the node tries to take each zone it does not hold, in one statement, which also proves the
 * connection alive. When the connection errors or ends, every zone is lost at once (PostgreSQL has
 * released or will release them) and the next check reconnects and tries again. A leader killed
 * outright frees its locks as soon as PostgreSQL sees its connection close, so another node leads
 * its zones after at most one more check.
 */
export class ZoneLeases extends EventEmitter<LeaseEvents> {
  readonly #opts: ZoneLeasesOptions;
  readonly #held = new Set<string>();
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  #closed = false;
  /** Logged once per outage, not once per check. */
  #failing = false;

  constructor(opts: ZoneLeasesOptions) {
    super();
    this.#opts = opts;
  }

  /** The zones this node leads now. */
  held(): ReadonlySet<string> {
    return this.#held;
  }

  /** Checks now, then every `checkMs`. */
  start() {
    this.#schedule(0);
  }

  /** Takes whatever free zones it can; resolves once the attempt is over (tests await it). */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#checking;
    const client = this.#client;
    this.#dropAll('released');
    if (!client) return;
    // Unlocking before ending makes the release visible to other nodes when close() returns.
    await client.query('SELECT pg_advisory_unlock_all()').catch(() => {});
    await client.end().catch(() => {});
  }

  #schedule(ms: number) {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.check().finally(() => this.#schedule(this.#opts.checkMs));
    }, ms);
    this.#timer.unref();
  }

  async #check() {
    let zones: string[];
    try {
      zones = [...(await this.#opts.zones())];
    } catch (err) {
      this.#fail(err, 'reading the dispatch zones failed');
      return;
    }
    const client = this.#client ?? (await this.#connect());
    if (!client || this.#closed) return;
    const wanted = zones.filter((z) => !this.#held.has(z));
    try {
      // With nothing to take, the statement still proves the connection (and so the held locks) alive.
      const { rows } = await client.query<{ zone: string; taken: boolean }>(
        'SELECT zone, pg_try_advisory_lock($1::int4, key) AS taken FROM unnest($2::text[], $3::int4[]) AS t(zone, key)',
        [LOCK_NAMESPACE, wanted, wanted.map(zoneLockKey)],
      );
      this.#failing = false;
      if (this.#client !== client || this.#closed) return;
      for (const { zone, taken } of rows) {
        if (!taken || this.#held.has(zone)) continue;
        this.#held.add(zone);
        this.#opts.metrics?.dispatchLeadership.inc({ change: 'acquired' });
        this.#opts.log.info({ zone }, 'dispatching zone');
        this.emit('acquired', zone);
      }
    } catch (err) {
      // A lock granted in a statement whose answer was lost is still this session's: end it to be sure.
      this.#lose(client, err);
    }
  }

  async #connect() {
    const client = new pg.Client({
      connectionString: this.#opts.url,
      application_name: 'dabba-dispatch-leases',
      keepAlive: true,
      // A connection that stops answering must cost the leadership before long, not hang a check.
      query_timeout: Math.max(this.#opts.checkMs, 5_000),
      connectionTimeoutMillis: Math.max(this.#opts.checkMs, 5_000),
    });
    client.on('error', (err) => this.#lose(client, err));
    client.on('end', () => this.#lose(client));
    try {
      await client.connect();
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      this.#fail(err, 'the dispatch lease connection failed; retrying');
      return undefined;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return undefined;
    }
    this.#client = client;
    return client;
  }

  #lose(client: pg.Client, err?: unknown) {
    if (this.#client !== client) return;
    this.#client = undefined;
    if (this.#held.size > 0) this.#opts.log.warn({ err, zones: [...this.#held] }, 'the dispatch lease connection ended; no longer dispatching its zones');
    this.#dropAll('lost');
    client.end().catch(() => {});
  }

  #dropAll(change: 'lost' | 'released') {
    this.#client = undefined;
    const zones = [...this.#held];
    this.#held.clear();
    for (const zone of zones) {
      this.#opts.metrics?.dispatchLeadership.inc({ change });
      this.emit('lost', zone);
    }
  }

  #fail(err: unknown, message: string) {
    if (!this.#failing) this.#opts.log.warn({ err }, message);
    this.#failing = true;
  }
}
