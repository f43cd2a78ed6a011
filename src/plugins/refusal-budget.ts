/** A refusal waiting for the budget; `cancel` drops it (the request was admitted, or its client left). */
export interface PendingRefusal {
  cancel(): void;
}

interface Pending {
  refuse: () => void;
  live: boolean;
}

const TICK_MS = 10;

/**
 * How many waits may end in a refusal per second: a token bucket holding a tenth of a second's worth.
 * A 503 costs about what a small answer costs (parsing, routing, writing), and a client that retries
 * at once comes straight back for another; thousands of such clients would make refusals most of the
 * process's work, and the admitted requests would miss their deadlines. Past the budget, a request
 * whose wait has run out keeps waiting, still eligible for a slot, and is refused in turn, oldest
 * first, as the budget refills: the rate of refusals, and so of retries, stays bounded whatever the
 * clients do. `perSecond` 0 means no budget (every refusal at once).
 */
export class RefusalBudget {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt = performance.now();
  #queue: Pending[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(perSecond: number) {
    this.#perSecond = perSecond;
    this.#burst = Math.max(1, perSecond / 10);
    this.#tokens = this.#burst;
  }

  /** Runs `refuse` now if the budget allows and nothing older waits, else once its turn comes. */
  refuse(refuse: () => void): PendingRefusal | undefined {
    if (this.#perSecond === 0) return void refuse();
    this.#refill();
    if (this.#head === this.#queue.length && this.#tokens >= 1) {
      this.#tokens--;
      return void refuse();
    }
    const pending: Pending = { refuse, live: true };
    this.#queue.push(pending);
    this.#timer ??= setInterval(() => this.#drain(), TICK_MS);
    return {
      cancel: () => {
        pending.live = false;
      },
    };
  }

  close() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #refill() {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) * this.#perSecond) / 1000);
    this.#refilledAt = now;
  }

  #drain() {
    this.#refill();
    while (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      if (next.live) {
        if (this.#tokens < 1) break;
        this.#tokens--;
        next.live = false;
        next.refuse();
      }
      this.#head++;
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      this.close();
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
