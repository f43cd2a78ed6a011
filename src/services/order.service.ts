import { createHash, randomUUID } from 'node:crypto';
import type { OrderRepository, OrderView } from '../db/repositories/order.repository.ts';
import type { UserRepository } from '../db/repositories/user.repository.ts';
import type { Principal } from '../domain/identity.ts';
import type { Refusal } from '../domain/order-moves.ts';
import { withLiveAvailability } from '../domain/menu-sync.ts';
import { type PlacementRequest, decidePlacement } from '../domain/order-placement.ts';
import type { OrderStatus } from '../domain/order-status.ts';
import { CURRENCY } from '../domain/pricing.ts';
import { type AppError, conflict, forbidden, notFound, priceChanged, unprocessable } from '../errors.ts';
import type { CheckoutService } from './checkout.service.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { CHECKOUT_MENU_DEADLINE_MS, CHECKOUT_MENU_MAX_AGE_MS, type LiveMenus } from './live-menus.ts';
import type { MoveResult, OrderTransitions } from './order-transitions.ts';

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

const hashRequest = (input: PlacementRequest) => createHash('sha256').update(canonicalJson(input)).digest('base64url');

export class OrderService {
  readonly #orders: OrderRepository;
  readonly #users: UserRepository;
  readonly #transitions: OrderTransitions;
  readonly #checkout: CheckoutService;
  readonly #liveMenus: LiveMenus;

  constructor(deps: { orders: OrderRepository; users: UserRepository; transitions: OrderTransitions; checkout: CheckoutService; liveMenus: LiveMenus }) {
    this.#orders = deps.orders;
    this.#users = deps.users;
    this.#transitions = deps.transitions;
    this.#checkout = deps.checkout;
    this.#liveMenus = deps.liveMenus;
  }

  /**
   * Replays an earlier order under the same Idempotency-Key, or decides whether the order can be
   * placed and at what price, writes it as `placed` and runs checkout. Returns the order and whether
   * it was created now (false: a replay).
   *
   * Availability is the freshest the order can afford: the restaurant's live menu (a cached one under
   * CHECKOUT_MENU_MAX_AGE_MS, else the catalog's answer within CHECKOUT_MENU_DEADLINE_MS, asked while
   * the database is read), applied to the synced copy by the sync's own rule; without it in time, the
   * synced copy alone. The price is always the synced copy's: the price the feed and the menu show.
   */
  async place(who: Principal, input: PlacementRequest, idempotencyKey: string) {
    const requestHash = hashRequest(input);
    // Never rejects: a catalog that fails or is slow leaves the decision to the synced copy.
    const live = this.#liveMenus.recent(input.restaurant_id, { maxAgeMs: CHECKOUT_MENU_MAX_AGE_MS, deadlineMs: CHECKOUT_MENU_DEADLINE_MS });
    const { earlier, restaurant, menu } = await this.#orders.placementContext({
      customerId: who.id,
      idempotencyKey,
      restaurantId: input.restaurant_id,
      itemIds: input.items.map((i) => i.menu_item_id),
    });
    if (earlier) return { order: await this.#replayOf(who, earlier, requestHash), created: false };

    const placement = decidePlacement(input, restaurant, withLiveAvailability(menu, await live));
    if (!placement.ok) {
      const errors = placement.problems.map((p) => ({ field: `body/${p.field}`, message: p.message }));
      if (placement.priceChanges) throw priceChanged(placement.detail, errors, placement.priceChanges.map((c) => ({ ...c, field: `body/${c.field}` })));
      throw unprocessable(placement.detail, errors);
    }

    const id = randomUUID();
    const { price } = placement;
    const inserted = await this.#orders.insert(
      {
        id,
        customer_id: who.id,
        restaurant_id: input.restaurant_id,
        courier_id: null,
        status: 'placed',
        currency: CURRENCY,
        subtotal_cents: price.subtotalCents,
        delivery_fee_cents: price.deliveryFeeCents,
        total_cents: price.totalCents,
        delivery_lat: input.delivery.lat,
        delivery_lng: input.delivery.lng,
        delivery_address: input.delivery.address,
        distance_km: Math.round(placement.distanceKm * 1000) / 1000,
        notes: input.notes ?? null,
        status_reason: null,
        eta_minutes: null,
        idempotency_key: idempotencyKey,
        request_hash: requestHash,
      },
      placement.lines,
      who,
    );
    // Two requests with one key raced; the unique index let exactly one insert through.
    if (inserted === 'duplicate') return { order: await this.#replay(who, idempotencyKey, requestHash), created: false };

    // Checkout is not tied to this request: a customer who hangs up still gets a decided order.
    const decided = await this.#checkout.run({
      id,
      customer_id: who.id,
      total_cents: price.totalCents,
      currency: CURRENCY,
      restaurant: restaurant!,
      delivery: input.delivery,
      items: input.items,
    });
    return { order: decided ?? (await this.#orders.findVisible(id, who))!, created: true };
  }

  async #replay(who: Principal, key: string, requestHash: string) {
    const earlier = await this.#orders.findByIdempotencyKey(who.id, key);
    if (!earlier) throw new Error('an insert lost to a duplicate Idempotency-Key, yet no order holds that key');
    return this.#replayOf(who, earlier, requestHash);
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

  /** A person's status change: only on an order they can see, as the order's rules decide. */
  async transition(who: Principal, id: string, to: OrderStatus, reason?: string) {
    return settle(await this.#transitions.apply(id, { to }, who, { visibleTo: who, reason }));
  }

  /** An admin's manual assignment, the override of dispatch. */
  async assignCourier(who: Principal, id: string, courierId: string) {
    if (!(await this.#users.courierExists(courierId))) {
      throw unprocessable('No such courier.', [{ field: 'body/courier_id', message: 'not a courier' }]);
    }
    return settle(await this.#transitions.apply(id, { assign: courierId }, who, { visibleTo: who }));
  }
}

function settle(result: MoveResult | { outcome: 'not_found' }): OrderView {
  switch (result.outcome) {
    case 'moved':
      return result.order;
    case 'not_found':
      throw notFound('Order');
    case 'stale':
      throw conflict('The order is changing too quickly; try again.');
    case 'refused':
      throw refusalError(result.refusal);
  }
}

/** A refused move as the client sees it: 403 for the wrong kind of actor, 409 (with the current status) for the wrong moment. */
function refusalError(refusal: Refusal): AppError {
  if (refusal.code === 'forbidden' || refusal.code === 'not_assigned') return forbidden(refusal.detail);
  return conflict(refusal.detail, { current_status: refusal.current_status });
}
