import type { DispatchRepository } from '../db/repositories/dispatch.repository.ts';
import { zoneOf } from './zones.ts';

/**
 * Which zone each restaurant is in, and so which zones are worth leading. Reloaded only when the
 * restaurants' fingerprint changes (one aggregate row per read), so the lease check may ask every time.
 */
export class RestaurantZones {
  readonly #repo: DispatchRepository;
  readonly #resolution: number;
  #fingerprint: string | undefined;
  #byZone = new Map<string, string[]>();

  constructor(repo: DispatchRepository, resolution: number) {
    this.#repo = repo;
    this.#resolution = resolution;
  }

  /** The zones with at least one restaurant, read again if restaurants changed. */
  async zones(): Promise<Iterable<string>> {
    const fingerprint = await this.#repo.restaurantsFingerprint();
    if (fingerprint !== this.#fingerprint) {
      const byZone = new Map<string, string[]>();
      for (const r of await this.#repo.restaurantPoints()) {
        const zone = zoneOf(r, this.#resolution);
        const ids = byZone.get(zone);
        if (ids) ids.push(r.id);
        else byZone.set(zone, [r.id]);
      }
      this.#byZone = byZone;
      this.#fingerprint = fingerprint;
    }
    return this.#byZone.keys();
  }

  restaurantsIn(zone: string): readonly string[] {
    return this.#byZone.get(zone) ?? [];
  }
}
