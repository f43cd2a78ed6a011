import { type FieldErrors, hasErrors, invalid, isObject, objectBody } from './fields.ts';
import { type PartnerSim, type Reply, type SimRequest, notFound, reply } from './http.ts';

interface BaseItem {
  id: string;
  name: string;
  price_cents: number;
  /** `false`: unavailable whatever the minute, drift or not. */
  available?: boolean;
}

interface Menu {
  items: BaseItem[];
  drift: boolean;
}

const ADJECTIVES = ['Smoky', 'Spicy', 'Butter', 'Crispy', 'Garlic', 'Tandoori', 'Masala', 'Green', 'Golden', 'Classic'];
const DISHES = [
  'Paneer Tikka',
  'Dal Makhani',
  'Biryani',
  'Dosa',
  'Momos',
  'Naan',
  'Chole',
  'Pav Bhaji',
  'Noodles',
  'Kulfi',
];
const GENERATED_ITEMS = 10;

/** FNV-1a: stable across processes, so a restaurant's generated menu never changes between runs. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Murmur3 finaliser: spreads a combined integer so neighbouring minutes give unrelated values. */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Price for a given minute: within ±10% of base (after rounding), the same for everyone asking that minute. */
export function driftedPrice(baseCents: number, itemId: string, minute: number): number {
  const unit = mix32(hash32(itemId) ^ Math.imul(minute, 0x9e3779b1)) / 2 ** 32;
  const price = Math.round(baseCents * (0.9 + 0.2 * unit));
  return Math.min(Math.floor(baseCents * 1.1), Math.max(Math.ceil(baseCents * 0.9), price));
}

/** About one item in ten is unavailable in any given minute, a different one each minute. */
export function availableAt(itemId: string, minute: number): boolean {
  return mix32(hash32(itemId) ^ Math.imul(minute + 1, 0x27d4eb2f) ^ 0x5bd1e995) % 10 !== 0;
}

export function generatedMenu(restaurantId: string): BaseItem[] {
  const seed = hash32(restaurantId);
  return Array.from({ length: GENERATED_ITEMS }, (_, i) => {
    const h = mix32(seed + Math.imul(i + 1, 0x9e3779b9));
    return {
      id: `${restaurantId}-m${i + 1}`,
      name: `${ADJECTIVES[h % ADJECTIVES.length]} ${DISHES[(h >>> 8) % DISHES.length]}`,
      price_cents: 5000 + ((h >>> 16) % 40) * 500,
    };
  });
}

function parseMenu(raw: unknown): { ok: true; menu: Menu } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const body = objectBody(raw, errors);
  const items = body['items'];
  if (!Array.isArray(items) || items.length > 1000) errors['items'] = 'must be an array of at most 1000 items';
  const parsed: BaseItem[] = [];
  for (const [i, item] of (Array.isArray(items) ? items : []).entries()) {
    const { id, name, price_cents, available } = isObject(item) ? item : {};
    if (typeof id !== 'string' || id === '') errors[`items[${i}].id`] = 'must be a non-empty string';
    if (typeof name !== 'string' || name === '') errors[`items[${i}].name`] = 'must be a non-empty string';
    if (typeof price_cents !== 'number' || !Number.isSafeInteger(price_cents) || price_cents < 0) {
      errors[`items[${i}].price_cents`] = 'must be an integer >= 0';
    }
    if (available !== undefined && typeof available !== 'boolean') errors[`items[${i}].available`] = 'must be a boolean';
    parsed.push({ id: String(id), name: String(name), price_cents: Number(price_cents), ...(available === false ? { available: false } : {}) });
  }
  if (body['drift'] !== undefined && typeof body['drift'] !== 'boolean') errors['drift'] = 'must be a boolean';
  return hasErrors(errors)
    ? { ok: false, errors }
    : { ok: true, menu: { items: parsed, drift: body['drift'] !== false } };
}

function parseSettings(raw: unknown): { ok: true; generate: boolean } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const body = objectBody(raw, errors);
  for (const key of Object.keys(body)) if (key !== 'generate_unknown') errors[key] = 'unknown setting';
  if (typeof body['generate_unknown'] !== 'boolean') errors['generate_unknown'] = 'must be a boolean';
  return hasErrors(errors) ? { ok: false, errors } : { ok: true, generate: body['generate_unknown'] === true };
}

export class CatalogSim implements PartnerSim {
  #menus = new Map<string, Menu>();
  /** Whether a restaurant nobody set a menu for gets a generated one, or a 404 (the catalog does not know it). */
  #generateUnknown = true;
  #now: () => number;

  /** `now` is injectable so tests can step through minutes without waiting for them. */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  handle(req: SimRequest): Reply {
    const [version, collection, restaurantId, resource, extra] = req.segments;
    if (req.method !== 'GET' || version !== 'v1' || collection !== 'restaurants' || resource !== 'menu')
      return notFound();
    if (restaurantId === undefined || extra !== undefined) return notFound();
    const minute = Math.floor(this.#now() / 60_000);
    const set = this.#menus.get(restaurantId);
    if (!set && !this.#generateUnknown) return reply(404, { error: 'unknown restaurant' });
    const menu = set ?? { items: generatedMenu(restaurantId), drift: true };
    const items = menu.items.map((item) => ({
      id: item.id,
      name: item.name,
      price_cents: menu.drift ? driftedPrice(item.price_cents, item.id, minute) : item.price_cents,
      available: item.available !== false && (menu.drift ? availableAt(item.id, minute) : true),
    }));
    return reply(200, { restaurant_id: restaurantId, items, as_of: new Date(minute * 60_000).toISOString() });
  }

  control(req: SimRequest): Reply | undefined {
    const [resource, restaurantId, extra] = req.segments;
    if (resource === 'settings' && restaurantId === undefined && req.method === 'PUT') {
      const parsed = parseSettings(req.body);
      if (!parsed.ok) return invalid(parsed.errors);
      this.#generateUnknown = parsed.generate;
      return reply(200, { generate_unknown: this.#generateUnknown });
    }
    if (resource !== 'restaurants' || restaurantId === undefined || extra !== undefined) return undefined;
    if (req.method === 'DELETE') {
      this.#menus.delete(restaurantId);
      return reply(200, { restaurant_id: restaurantId, items: generatedMenu(restaurantId), drift: true });
    }
    if (req.method !== 'PUT') return undefined;
    const parsed = parseMenu(req.body);
    if (!parsed.ok) return invalid(parsed.errors);
    this.#menus.set(restaurantId, parsed.menu);
    return reply(200, { restaurant_id: restaurantId, ...parsed.menu });
  }

  reset(): void {
    this.#menus.clear();
    this.#generateUnknown = true;
  }
}
