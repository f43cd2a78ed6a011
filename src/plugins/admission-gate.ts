/** A place in a gate's wait: `cancel` takes it out (timed out, client gone) before it is admitted. */
export interface Ticket {
  cancel(): void;
}

interface Waiter {
  admit: () => void;
  live: boolean;
}

/**
 * One route's limit of admitted requests, how many it has now, and who waits for a slot. A freed
 * slot goes to the newest waiter (LIFO): under a steady overload the fresh requests, whose clients
 * are still there, are served at once and the old ones time out, instead of every request waiting
 * out the whole queue. Cancelled places are dropped lazily and the stack compacted when they pile up.
 * While `paused()` says so (the process is under pressure) the gate has no room for anyone: nothing
 * is admitted, and a freed slot stays free until the pressure is over.
 * @see https://queue.acm.org/detail.cfm?id=2839461 (Fail at Scale: adaptive LIFO)
 */
export class Gate {
  readonly route: string;
  readonly limit: number;
  readonly maxWaiting: number;
  inFlight = 0;
  readonly #paused: () => boolean;
  #stack: Waiter[] = [];
  #waiting = 0;

  constructor(route: string, limit: number, maxWaiting: number, paused: () => boolean = () => false) {
    this.route = route;
    this.limit = limit;
    this.maxWaiting = maxWaiting;
    this.#paused = paused;
  }

  get waiting() {
    return this.#waiting;
  }

  hasRoom() {
    return this.inFlight < this.limit && !this.#paused();
  }

  /** Queues `admit` to run when a slot is handed over; undefined when the wait is full. */
  wait(admit: () => void): Ticket | undefined {
    if (this.#waiting >= this.maxWaiting) return undefined;
    const waiter: Waiter = { admit, live: true };
    this.#stack.push(waiter);
    this.#waiting++;
    return {
      cancel: () => {
        if (!waiter.live) return;
        waiter.live = false;
        this.#waiting--;
        if (this.#stack.length > 2 * this.#waiting + 64) this.#stack = this.#stack.filter((w) => w.live);
      },
    };
  }

  /** A slot came free: it goes to the newest live waiter, if any, whose `admit` takes it (a Slot). */
  release() {
    this.inFlight--;
    if (this.hasRoom()) this.#handOver();
  }

  /** Hands every free slot to the newest waiters: called when a pause may have ended, as no release may come. */
  pump() {
    while (this.#waiting > 0 && this.hasRoom()) this.#handOver();
  }

  #handOver() {
    while (this.#stack.length > 0) {
      const next = this.#stack.pop()!;
      if (!next.live) continue;
      next.live = false;
      this.#waiting--;
      next.admit();
      return;
    }
  }
}

/**
 * One admitted request's hold on its route's count. The count measures work, not sockets, so the
 * hold is given back only when the response has closed and no handler of the request is running:
 * a checkout that outlives its hung-up client keeps its slot until it settles, and a request that
 * never reaches its handler (bad input, no token) gives it back when its answer is sent. `#held`
 * makes every give-back match exactly one take, so the count can neither leak nor go negative.
 */
export class Slot {
  readonly #gate: Gate;
  #held = true;
  #running = false;
  #closed = false;

  constructor(gate: Gate) {
    this.#gate = gate;
    gate.inFlight++;
  }

  closed() {
    this.#closed = true;
    this.#release();
  }

  run<T>(handler: () => T): T {
    // The client can leave while an async hook runs; the handler still starts then, and is still work.
    if (!this.#held) {
      this.#held = true;
      this.#gate.inFlight++;
    }
    this.#running = true;
    const settled = () => {
      this.#running = false;
      this.#release();
    };
    let result: T;
    try {
      result = handler();
    } catch (err) {
      settled();
      throw err;
    }
    if (result instanceof Promise) return result.finally(settled) as T;
    settled();
    return result;
  }

  #release() {
    if (!this.#held || this.#running || !this.#closed) return;
    this.#held = false;
    this.#gate.release();
  }
}
