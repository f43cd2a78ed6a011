import type { Horizon } from '../db/repositories/order-events.repository.ts';

/**
 * Where a reader of many orders' events stands, so that each event is sent once and none is skipped.
 *
 * An event's id is taken when its move runs, but moves of different orders commit in any order: a read
 * may see id 11 while id 10 is still uncommitted, and a reader that moved past 11 would never see 10.
 * (One order's moves cannot overlap, each waits for the order's row: a single order's reader needs none
 * of this.) So an id is sent only once no smaller one can still appear: when nothing was running at the
 * read, or when every transaction running at an earlier read that saw the id has ended since (this
 * read's xmin has passed that read's xmax). A move takes its transaction id before its event's id, so
 * a transaction that could still add a smaller id was running at that earlier read. Held events are sent
 * by a later read, after a short wait when no move nudges one sooner.
 * @see https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-PG-SNAPSHOT
 */
export class SettledCursor {
  /** The last event sent: every event up to it has been sent, and no smaller one can still appear. */
  lastId: number;
  /** Ids up to `maxId`, seen by a read whose snapshot ended at `xmax`, are settled once xmin reaches it. */
  #fence: { xmax: number; maxId: number } | undefined;

  constructor(lastId: number) {
    this.lastId = lastId;
  }

  /**
   * Of the events one read returned (ids above `lastId`, ascending), the leading ones that are settled;
   * `held` when some were kept back for a later read. Call `sent` with each one sent.
   */
  settle<E extends { id: number }>(events: readonly E[], horizon: Horizon | undefined): { ready: E[]; held: boolean } {
    if (events.length === 0 || !horizon) return { ready: [], held: false };
    let bound = Number.NEGATIVE_INFINITY;
    if (horizon.xmin >= horizon.xmax) {
      bound = Number.POSITIVE_INFINITY;
      this.#fence = undefined;
    } else if (this.#fence && horizon.xmin >= this.#fence.xmax) {
      bound = this.#fence.maxId;
      this.#fence = undefined;
    }
    let n = 0;
    while (n < events.length && events[n]!.id <= bound) n++;
    const held = n < events.length;
    // The oldest unsettled read stays the fence: replacing it with each newer one would never settle under steady load.
    if (held && !this.#fence) this.#fence = { xmax: horizon.xmax, maxId: events.at(-1)!.id };
    return { ready: events.slice(0, n), held };
  }

  sent(id: number) {
    this.lastId = id;
  }
}
