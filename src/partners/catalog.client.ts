import { PartnerError } from './partner-errors.ts';
import type { PartnerHttp } from './partner-http.ts';

export interface LiveMenuItem {
  id: string;
  name: string;
  price_cents: number;
  available: boolean;
}

export interface LiveMenu {
  items: LiveMenuItem[];
  as_of: string;
}

/** A restaurant's live menu as its own system reports it: prices and availability drift. */
export class CatalogClient {
  readonly #http: PartnerHttp;

  constructor(http: PartnerHttp) {
    this.#http = http;
  }

  async menu(restaurantId: string, signal: AbortSignal): Promise<LiveMenu> {
    const res = await this.#http.call<Partial<LiveMenu>>({
      operation: 'menu',
      method: 'GET',
      path: `/v1/restaurants/${encodeURIComponent(restaurantId)}/menu`,
      signal,
    });
    if (res.status < 300 && Array.isArray(res.body.items)) {
      return { items: res.body.items, as_of: res.body.as_of ?? new Date().toISOString() };
    }
    throw new PartnerError('catalog', 'bad_response', `menu answered ${res.status}`, { status: res.status });
  }
}
