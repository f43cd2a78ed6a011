import { randomUUID } from 'node:crypto';
import { type FieldErrors, hasErrors, invalid, isObject, objectBody, str } from './fields.ts';
import { type PartnerSim, type Reply, type SimRequest, notFound, reply } from './http.ts';
import { IdempotencyStore } from './idempotency.ts';

interface Item {
  menu_item_id: string;
  quantity: number;
}

interface Restaurant {
  closed: boolean;
  out_of_stock: string[];
}

export interface PosOrderRecord {
  pos_order_id: string | null;
  order_id: string;
  restaurant_id: string;
  items: Item[];
  status: 'accepted' | 'rejected' | 'cancelled';
  reason?: string;
  prep_minutes?: number;
  submitted_at: string;
  cancelled_at?: string;
  /** Requests that reused an idempotency key for this order: proof the API retried without duplicating. */
  replays: number;
}

const OPEN: Restaurant = { closed: false, out_of_stock: [] };

/** Bigger orders take longer, capped where a real kitchen would start rejecting instead. */
const prepMinutes = (items: Item[]) => Math.min(45, 8 + 2 * items.reduce((n, i) => n + i.quantity, 0));

function parseItems(value: unknown, errors: FieldErrors): Item[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 100) {
    errors['items'] = 'must be a non-empty array of at most 100 items';
    return [];
  }
  const items: Item[] = [];
  value.forEach((item: unknown, i) => {
    const id = isObject(item) ? item['menu_item_id'] : undefined;
    const quantity = isObject(item) ? item['quantity'] : undefined;
    if (typeof id !== 'string' || id === '') errors[`items[${i}].menu_item_id`] = 'must be a non-empty string';
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > 100) {
      errors[`items[${i}].quantity`] = 'must be an integer between 1 and 100';
    }
    items.push({ menu_item_id: String(id), quantity: Number(quantity) });
  });
  return items;
}

export class PosSim implements PartnerSim {
  #restaurants = new Map<string, Restaurant>();
  #orders = new Map<string, PosOrderRecord>();
  #records: PosOrderRecord[] = [];
  #keys = new IdempotencyStore<PosOrderRecord>();

  handle(req: SimRequest): Reply {
    const [version, collection, id, action, extra] = req.segments;
    if (req.method !== 'POST' || version !== 'v1' || collection !== 'orders' || extra !== undefined) return notFound();
    if (id === undefined) return this.#submit(req.body);
    if (action === 'cancel') return this.#cancel(id, req.body);
    return notFound();
  }

  control(req: SimRequest): Reply | undefined {
    const [resource, id, extra] = req.segments;
    if (resource === 'orders' && id === undefined && req.method === 'GET') {
      const wanted = new URLSearchParams(req.query).get('order_id');
      return reply(200, {
        orders: wanted === null ? this.#records : this.#records.filter((o) => o.order_id === wanted),
      });
    }
    if (resource !== 'restaurants' || id === undefined || extra !== undefined) return undefined;
    if (req.method === 'GET') return reply(200, { restaurant_id: id, ...(this.#restaurants.get(id) ?? OPEN) });
    if (req.method !== 'PUT') return undefined;
    const errors: FieldErrors = {};
    const body = objectBody(req.body, errors);
    const next = { ...(this.#restaurants.get(id) ?? OPEN) };
    if (body['closed'] !== undefined) {
      if (typeof body['closed'] === 'boolean') next.closed = body['closed'];
      else errors['closed'] = 'must be a boolean';
    }
    const stock = body['out_of_stock'];
    if (stock !== undefined) {
      if (Array.isArray(stock) && stock.every((s) => typeof s === 'string')) next.out_of_stock = stock;
      else errors['out_of_stock'] = 'must be an array of menu item ids';
    }
    if (hasErrors(errors)) return invalid(errors);
    this.#restaurants.set(id, next);
    return reply(200, { restaurant_id: id, ...next });
  }

  reset(): void {
    this.#restaurants.clear();
    this.#orders.clear();
    this.#records = [];
    this.#keys.clear();
  }

  #submit(raw: unknown): Reply {
    const errors: FieldErrors = {};
    const body = objectBody(raw, errors);
    const orderId = str(body, 'order_id', errors);
    const restaurantId = str(body, 'restaurant_id', errors);
    const key = str(body, 'idempotency_key', errors);
    const items = parseItems(body['items'], errors);
    if (hasErrors(errors)) return invalid(errors);

    const fingerprint = `submit|${orderId}|${restaurantId}`;
    const seen = this.#keys.lookup(key, fingerprint);
    if (seen.kind === 'conflict') return seen.reply;
    if (seen.kind === 'replay') {
      seen.note.replays++;
      return seen.reply;
    }
    const restaurant = this.#restaurants.get(restaurantId) ?? OPEN;
    const record: PosOrderRecord = {
      pos_order_id: null,
      order_id: orderId,
      restaurant_id: restaurantId,
      items,
      status: 'rejected',
      submitted_at: new Date().toISOString(),
      replays: 0,
    };
    this.#records.push(record);
    const missing = items.filter((i) => restaurant.out_of_stock.includes(i.menu_item_id)).map((i) => i.menu_item_id);
    let result: Reply;
    if (restaurant.closed) {
      record.reason = 'closed';
      result = reply(409, { status: 'rejected', reason: 'closed' });
    } else if (missing.length > 0) {
      record.reason = 'out_of_stock';
      result = reply(409, { status: 'rejected', reason: 'out_of_stock', items: missing });
    } else {
      record.pos_order_id = `pos_${randomUUID()}`;
      record.status = 'accepted';
      record.prep_minutes = prepMinutes(items);
      this.#orders.set(record.pos_order_id, record);
      result = reply(201, { pos_order_id: record.pos_order_id, status: 'accepted', prep_minutes: record.prep_minutes });
    }
    return this.#keys.remember(key, fingerprint, result, record);
  }

  /** Cancelling is naturally idempotent: a second cancel, even with a new key, reports the same state. */
  #cancel(posOrderId: string, raw: unknown): Reply {
    const errors: FieldErrors = {};
    const key = str(objectBody(raw, errors), 'idempotency_key', errors);
    if (hasErrors(errors)) return invalid(errors);
    const fingerprint = `cancel|${posOrderId}`;
    const seen = this.#keys.lookup(key, fingerprint);
    if (seen.kind === 'conflict') return seen.reply;
    if (seen.kind === 'replay') {
      seen.note.replays++;
      return seen.reply;
    }
    const order = this.#orders.get(posOrderId);
    if (order === undefined) return reply(404, { error: 'pos order not found', pos_order_id: posOrderId });
    if (order.status !== 'cancelled') {
      order.status = 'cancelled';
      order.cancelled_at = new Date().toISOString();
    }
    return this.#keys.remember(key, fingerprint, reply(200, { pos_order_id: posOrderId, status: 'cancelled' }), order);
  }
}
