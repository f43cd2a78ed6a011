import { createHash, randomUUID } from 'node:crypto';
import type { OrderRepository } from '../db/repositories/order.repository.ts';
import type { UserRepository } from '../db/repositories/user.repository.ts';
import { distanceKm } from '../domain/geo.ts';
import { type OrderStatus, canAssignCourier, checkTransition } from '../domain/order-status.ts';
import { CURRENCY, priceOrder } from '../domain/pricing.ts';
import { type FieldError, conflict, forbidden, notFound, unprocessable } from '../errors.ts';
import type { CheckoutService } from './checkout.service.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import type { OrderTransitions } from './order-transitions.ts';
import type { Principal } from './token.service.ts';

export interface PlaceOrderInput {
  restaurant_id: string;
  items: { menu_item_id: string; quantity: number }[];
  delivery: { lat: number; lng: number; address: string };
  notes?: string;
}

/** Optimistic writes retry after a lost race only while the move is still legal; a few tries suffice. */
const MAX_WRITE_ATTEMPTS = 5;

/** Key order must not matter: `{a,b}` and `{b,a}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

export class OrderService {
  readonly #orders: OrderRepository;
  readonly #users: UserRepository;
  readonly #transitions: OrderTransitions;
  readonly #checkout: CheckoutService;

  constructor(deps: {
    orders: OrderRepository;
    users: UserRepository;
    transitions: OrderTransitions;
    checkout: CheckoutService;
  }) {
    this.#orders = deps.orders;
    this.#users = deps.users;
    this.#transitions = deps.transitions;
    this.#checkout = deps.checkout;
  }

  /** Returns the order and whether it was created now (false: a replay of the same Idempotency-Key). */
  async place(who: Principal, input: PlaceOrderInput, idempotencyKey: string) {
    const requestHash = createHash('sha256').update(canonicalJson(input)).digest('base64url');
    const ids = input.items.map((i) => i.menu_item_id);
    const { earlier, restaurant, menu: menuRows } = await this.#orders.placementContext({
      customerId: who.id,
      idempotencyKey,
      restaurantId: input.restaurant_id,
      itemIds: ids,
    });
    if (earlier) return { order: await this.#replayOf(who, earlier, requestHash), created: false };

    if (!restaurant) throw unprocessable('The restaurant does not exist.', [field('restaurant_id', 'no such restaurant')]);
    if (!restaurant.is_open) throw unprocessable('The restaurant is closed.', [field('restaurant_id', 'closed')]);
    const distance = distanceKm(restaurant, input.delivery);
    if (distance > restaurant.delivery_radius_km) {
      throw unprocessable(
        `The delivery point is ${distance.toFixed(1)} km away; this restaurant delivers within ${restaurant.delivery_radius_km} km.`,
        [field('delivery', 'outside the delivery range')],
      );
    }
    const menu = new Map(menuRows.map((m) => [m.id, m]));
    const problems: FieldError[] = [];
    input.items.forEach((line, i) => {
      const item = menu.get(line.menu_item_id);
      if (ids.indexOf(line.menu_item_id) !== i) problems.push(field(`items/${i}/menu_item_id`, 'listed twice; raise the quantity instead'));
      else if (!item) problems.push(field(`items/${i}/menu_item_id`, 'not on this restaurant’s menu'));
      else if (!item.is_available) problems.push(field(`items/${i}/menu_item_id`, 'currently unavailable'));
    });
    if (problems.length > 0) throw unprocessable('Some items cannot be ordered.', problems);

    // Prices come from the database alone; whatever the client believed a dish cost is ignored.
    const lines = input.items.map((l) => ({ ...l, item: menu.get(l.menu_item_id)! }));
    const price = priceOrder(lines.map((l) => ({ unitPriceCents: l.item.price_cents, quantity: l.quantity })), distance);
    const id = randomUUID();
    try {
      await this.#orders.insert(
        {
          id,
          customer_id: who.id,
          restaurant_id: restaurant.id,
          courier_id: null,
          status: 'placed',
          currency: CURRENCY,
          subtotal_cents: price.subtotalCents,
          delivery_fee_cents: price.deliveryFeeCents,
          total_cents: price.totalCents,
          delivery_lat: input.delivery.lat,
          delivery_lng: input.delivery.lng,
          delivery_address: input.delivery.address,
          distance_km: Math.round(distance * 1000) / 1000,
          notes: input.notes ?? null,
          status_reason: null,
          eta_minutes: null,
          idempotency_key: idempotencyKey,
          request_hash: requestHash,
        },
        lines.map((l, i) => ({
          menu_item_id: l.menu_item_id,
          name: l.item.name,
          unit_price_cents: l.item.price_cents,
          quantity: l.quantity,
          line_total_cents: price.lineTotals[i]!,
        })),
        who,
      );
    } catch (err) {
      // Two requests with one key raced; the unique index let exactly one insert through.
      if (!isUniqueViolation(err)) throw err;
      const winner = await this.#replay(who, idempotencyKey, requestHash);
      if (!winner) throw err;
      return { order: winner, created: false };
    }
    // Checkout is not tied to this request: a customer who hangs up still gets a decided order.
    const decided = await this.#checkout.run({
      id,
      version: 1,
      total_cents: price.totalCents,
      currency: CURRENCY,
      restaurant_id: restaurant.id,
      restaurant_lat: restaurant.lat,
      restaurant_lng: restaurant.lng,
      prep_minutes: restaurant.prep_minutes,
      pos_integrated: restaurant.pos_integrated,
      delivery_lat: input.delivery.lat,
      delivery_lng: input.delivery.lng,
      items: input.items,
    });
    return { order: decided ?? (await this.#orders.findVisible(id, who))!, created: true };
  }

  async #replay(who: Principal, key: string, requestHash: string) {
    const earlier = await this.#orders.findByIdempotencyKey(who.id, key);
    return earlier && this.#replayOf(who, earlier, requestHash);
  }

  async #replayOf(who: Principal, earlier: { id: string; request_hash: string }, requestHash: string) {
    if (earlier.request_hash !== requestHash) {
      throw unprocessable('This Idempotency-Key was already used with a different request body.', [
        { field: 'headers/idempotency-key', message: 'reused with a different body' },
      ]);
    }
    return (await this.#orders.findVisible(earlier.id, who))!;
  }

  async get(who: Principal, id: string) {
    const order = await this.#orders.findVisible(id, who);
    if (!order) throw notFound('Order');
    return order;
  }

  async list(who: Principal, q: { limit: number; cursor?: string }) {
    const before = q.cursor ? decodeCursor(q.cursor, ['timestamp', 'uuid'] as const) : undefined;
    const rows = await this.#orders.listVisible(who, q.limit + 1, before && { createdAt: before[0], id: before[1] });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    const next = rows.length > q.limit && last ? encodeCursor([new Date(last.created_at).toISOString(), last.id]) : null;
    return { items: page, next_cursor: next };
  }

  /** Every status change by a person goes through here: visibility, the state machine, then a versioned write. */
  async transition(who: Principal, id: string, to: OrderStatus, reason?: string) {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const order = await this.#orders.findVisible(id, who);
      if (!order) throw notFound('Order');
      const from = order.status;
      const check = checkTransition(from, to, who.role);
      if (!check.ok && check.reason === 'forbidden') throw forbidden(`A ${who.role} cannot move an order from ${from} to ${to}.`);
      if (!check.ok) throw conflict(`The order is ${from}; it cannot become ${to}.`, { current_status: from });
      if (order.payment_state === 'pending') {
        throw conflict('Checkout is still running for this order; try again in a moment.', { current_status: from });
      }
      if (to === 'confirmed' && order.payment_state !== 'authorized') {
        throw conflict('The payment for this order is not authorised.', { current_status: from });
      }
      if (to === 'picked_up' && order.courier_id === null) {
        throw conflict('No courier is assigned to this order.', { current_status: from });
      }
      const moved = await this.#transitions.move({
        orderId: id,
        fromVersion: order.version,
        from,
        to,
        actorId: who.id,
        actorRole: who.role,
        reason,
      });
      if (moved) return moved;
    }
    throw conflict('The order is changing too quickly; try again.');
  }

  async assignCourier(who: Principal, id: string, courierId: string) {
    if (!(await this.#users.courierExists(courierId))) {
      throw unprocessable('No such courier.', [field('courier_id', 'not a courier')]);
    }
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const order = await this.#orders.findVisible(id, who);
      if (!order) throw notFound('Order');
      if (!canAssignCourier(order.status)) {
        throw conflict(`The order is ${order.status}; a courier can no longer be assigned.`, { current_status: order.status });
      }
      if (await this.#orders.assignCourier(id, order.version, courierId)) return (await this.#orders.findVisible(id, who))!;
    }
    throw conflict('The order is changing too quickly; try again.');
  }
}

const field = (name: string, message: string): FieldError => ({ field: `body/${name}`, message });
