import type { Session } from './api-client.ts';
import { CourierAgent, type CourierDeps } from './courier.ts';

/** About one fix a second per courier, as phones send them (the API keeps one per COURIER_MIN_FIX_INTERVAL_MS). */
const FIX_INTERVAL_MS = 1_000;

/**
 * The city's couriers on one clock: a single timer moves every courier and sends every position, so
 * sixty couriers cost one timer, not sixty.
 */
export class Couriers {
  readonly #deps: CourierDeps;
  readonly #agents: CourierAgent[] = [];

  constructor(deps: CourierDeps) {
    this.#deps = deps;
    deps.clock.every(FIX_INTERVAL_MS, () => {
      const now = Date.now();
      for (const agent of this.#agents) agent.tick(now);
    });
  }

  /** A signed-in courier goes on shift and joins the fleet. */
  async add(session: Session) {
    const agent = new CourierAgent(this.#deps, session);
    if (!(await agent.start())) return;
    // The city stopped while this courier was starting: it ends its shift at once rather than linger on it.
    if (this.#deps.clock.signal.aborted) return agent.close();
    this.#agents.push(agent);
  }

  /** Every courier closes its socket and goes off shift. */
  async close() {
    await Promise.all(this.#agents.map((agent) => agent.close()));
  }
}
