import type { FastifyBaseLogger } from 'fastify';
import pg from 'pg';

const BARRIER_CHANNEL = 'dabba_barrier';

export interface ChangeListenerOptions {
  url: string;
  channels: readonly string[];
  onNotify: (channel: string, payload: string) => void;
  /**
   * The listener (re)connected or lost its connection: notifications may have been missed, so whatever
   * they keep current must be thrown away. `listening` says whether notifications arrive now.
   */
  onReset: (listening: boolean) => void;
  log: FastifyBaseLogger;
  /** Wait before reconnecting after a failure; doubles up to ten times that. */
  retryMs?: number;
}

/**
 * PostgreSQL LISTEN on one dedicated connection (a pooled one would drop the subscription when it
 * goes back to the pool). While it is down nothing is known to be current: `listening` is false and
 * callers read the database instead; it reconnects with backoff until closed.
 * @see https://node-postgres.com/apis/client#notification
 */
export class ChangeListener {
  readonly #opts: ChangeListenerOptions;
  #client: pg.Client | undefined;
  #listening = false;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  readonly #barriers = new Map<string, () => void>();
  #nextBarrier = 0;

  constructor(opts: ChangeListenerOptions) {
    this.#opts = opts;
  }

  get listening() {
    return this.#listening;
  }

  /** Resolves once the first attempt to listen has succeeded or failed (a failure retries in the background). */
  start() {
    return this.#connect();
  }

  /**
   * Resolves once every notification committed before this call has been handled: PostgreSQL delivers
   * notifications in commit order, so when this listener hears its own marker the earlier ones are in.
   * For writers outside this process that must see their change read back at once (tests, tools).
   * Resolves at once when not listening: then nothing is held and every read goes to the database.
   */
  async barrier(): Promise<void> {
    const client = this.#client;
    if (!client || !this.#listening) return;
    const token = `${process.pid}-${this.#nextBarrier++}`;
    const heard = new Promise<void>((resolve) => this.#barriers.set(token, resolve));
    try {
      await client.query('SELECT pg_notify($1, $2)', [BARRIER_CHANNEL, token]);
      await Promise.race([heard, new Promise((r) => setTimeout(r, 5_000).unref())]);
    } catch {
      // The connection was lost meanwhile: reads go to the database until it is back.
    } finally {
      this.#barriers.delete(token);
    }
  }

  async close() {
    this.#closed = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#drop(client);
    await client?.end().catch(() => {});
  }

  async #connect() {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#opts.url, application_name: 'dabba-listen', keepAlive: true });
    client.on('error', (err) => this.#lost(client, err));
    client.on('end', () => this.#lost(client));
    client.on('notification', (n) => {
      if (n.channel === BARRIER_CHANNEL) this.#barriers.get(n.payload ?? '')?.();
      else this.#opts.onNotify(n.channel, n.payload ?? '');
    });
    this.#client = client;
    try {
      await client.connect();
      for (const channel of [...this.#opts.channels, BARRIER_CHANNEL]) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      this.#lost(client, err);
      return;
    }
    if (this.#client !== client || this.#closed) return;
    this.#failures = 0;
    this.#listening = true;
    this.#opts.onReset(true);
  }

  #lost(client: pg.Client, err?: unknown) {
    if (this.#client !== client) return;
    this.#drop(client);
    client.end().catch(() => {});
    if (this.#closed) return;
    this.#failures++;
    const base = this.#opts.retryMs ?? 1_000;
    const wait = Math.min(base * 2 ** (this.#failures - 1), base * 10);
    this.#opts.log.warn({ err, retry_ms: wait }, 'the change listener lost its connection; reading the database until it is back');
    this.#retry = setTimeout(() => void this.#connect(), wait);
  }

  #drop(client: pg.Client | undefined) {
    if (client === undefined || this.#client !== client) return;
    this.#client = undefined;
    const was = this.#listening;
    this.#listening = false;
    if (was) this.#opts.onReset(false);
  }
}
