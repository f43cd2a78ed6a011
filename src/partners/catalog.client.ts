import Type from 'typebox';
import { DateTime, MAX_MENU_ITEMS, PartnerId, PriceCents, answers } from './partner-answers.ts';
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

/** One bad item spoils the whole answer: a menu is shown (and kept as last good) whole or not at all. */
const MENU = answers({
  ok: Type.Object({
    items: Type.Array(
      Type.Object({
        id: PartnerId,
        name: Type.String({ minLength: 1, maxLength: 200 }),
        price_cents: PriceCents,
        available: Type.Boolean(),
      }),
      { maxItems: MAX_MENU_ITEMS },
    ),
    as_of: DateTime,
  }),
});

/** A restaurant's live menu as its own system reports it: prices and availability drift. */
export class CatalogClient {
  readonly #http: PartnerHttp;

  constructor(http: PartnerHttp) {
    this.#http = http;
  }

  async menu(restaurantId: string, signal: AbortSignal): Promise<LiveMenu> {
    const res = await this.#http.call({
      operation: 'menu',
      method: 'GET',
      path: `/v1/restaurants/${encodeURIComponent(restaurantId)}/menu`,
      signal,
      answers: MENU,
    });
    // Only the fields we know: the feed keeps this menu for half an hour, and extras would ride along.
    const items = res.body.items.map(({ id, name, price_cents, available }) => ({ id, name, price_cents, available }));
    return { items, as_of: res.body.as_of };
  }
}
