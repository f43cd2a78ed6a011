/**
 * The city's time: every delay the simulation waits (a kitchen's reaction, cooking, a courier's
 * thinking) is given in city milliseconds and waited for `timeScale` times faster. Every timer is
 * tracked, so stopping the city clears them all and wakes every sleeper.
 */
export class CityClock {
  readonly timeScale: number;
  readonly signal: AbortSignal;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(timeScale: number, signal: AbortSignal) {
    this.timeScale = timeScale;
    this.signal = signal;
    signal.addEventListener('abort', () => {
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
    }, { once: true });
  }

  /** Real milliseconds for a city delay. */
  wall(cityMs: number) {
    return cityMs / this.timeScale;
  }

  /** Runs `fn` after a city delay, unless the city stops first; returns a cancel. */
  after(cityMs: number, fn: () => void) {
    return this.afterWall(this.wall(cityMs), fn);
  }

  /** Runs `fn` after real milliseconds (network retries, reconnects), unless the city stops first. */
  afterWall(wallMs: number, fn: () => void) {
    if (this.signal.aborted) return () => {};
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, Math.max(0, wallMs));
    this.#timers.add(timer);
    return () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    };
  }

  /** Waits real milliseconds; false when the city stopped first. */
  sleepWall(wallMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.signal.aborted) return resolve(false);
      const onAbort = () => resolve(false);
      this.signal.addEventListener('abort', onAbort, { once: true });
      this.afterWall(wallMs, () => {
        this.signal.removeEventListener('abort', onAbort);
        resolve(true);
      });
    });
  }

  /** Calls `fn` every `wallMs` until the city stops. */
  every(wallMs: number, fn: () => void) {
    if (this.signal.aborted) return;
    const timer = setInterval(fn, wallMs);
    this.#timers.add(timer);
    this.signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
}

/** A uniform draw in [min, max). */
export const between = (rand: () => number, min: number, max: number) => min + rand() * (max - min);

export const MINUTE = 60_000;
export const SECOND = 1_000;
