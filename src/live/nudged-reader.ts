/**
 * Runs a connection's reads one at a time: a nudge while a read runs asks for one more read after it
 * (however many nudges came), so nothing a nudge announced is missed and the database sees at most one
 * read per connection at once. `read` resolves true when it knows there is more to read at once.
 */
export class NudgedReader {
  readonly #read: () => Promise<boolean>;
  readonly #onError: (err: unknown) => void;
  #running = false;
  #again = false;
  #stopped = false;

  constructor(read: () => Promise<boolean>, onError: (err: unknown) => void) {
    this.#read = read;
    this.#onError = onError;
  }

  nudge() {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.#loop();
  }

  stop() {
    this.#stopped = true;
  }

  async #loop() {
    this.#running = true;
    try {
      do {
        this.#again = false;
        if (await this.#read()) this.#again = true;
      } while (this.#again && !this.#stopped);
    } catch (err) {
      this.#onError(err);
    } finally {
      this.#running = false;
    }
  }
}
