import { type Point, distanceKm } from './geo.ts';
import { MAX_ORDER_TOTAL_CENTS, formatRupees, priceOrder } from './pricing.ts';

/** What a customer asks for when placing an order. */
export interface PlacementRequest {
  restaurant_id: string;
  /** `expected_unit_price_cents`: the price the customer was shown; when it is not the price now, nothing is ordered. */
  items: { menu_item_id: string; quantity: number; expected_unit_price_cents?: number }[];
  delivery: Point & { address: string };
  notes?: string;
}

export interface PlacementRestaurant extends Point {
  id: string;
  is_open: boolean;
  delivery_radius_km: number;
}

export interface PlacementDish {
  id: string;
  name: string;
  price_cents: number;
  is_available: boolean;
}

export interface PlacementProblem {
  /** Where in the request, e.g. `items/2/menu_item_id`. */
  field: string;
  message: string;
}

/** A line whose price is not the one the customer was shown. */
export interface PriceChange {
  /** Where in the request, e.g. `items/0/expected_unit_price_cents`. */
  field: string;
  menu_item_id: string;
  shown_cents: number;
  now_cents: number;
}

export type Placement =
  | {
      ok: true;
      distanceKm: number;
      lines: { menu_item_id: string; name: string; quantity: number; unit_price_cents: number; line_total_cents: number }[];
      price: ReturnType<typeof priceOrder>;
    }
  /** `priceChanges`: refused only because prices moved (a conflict to show the customer, not a bad request). */
  | { ok: false; detail: string; problems: PlacementProblem[]; priceChanges?: PriceChange[] };

const refuse = (detail: string, problems: PlacementProblem[]): Placement => ({ ok: false, detail, problems });

/**
 * Whether this restaurant can take this order, and at what price: open, delivering that far, every
 * dish on its menu and available, none listed twice, each at the price the customer was shown when
 * the request says what that was, the total within MAX_ORDER_TOTAL_CENTS. Prices come from the menu
 * alone: a shown price that differs refuses the order, it never sets the price.
 */
export function decidePlacement(request: PlacementRequest, restaurant: PlacementRestaurant | null, menu: readonly PlacementDish[]): Placement {
  if (!restaurant) return refuse('The restaurant does not exist.', [{ field: 'restaurant_id', message: 'no such restaurant' }]);
  if (!restaurant.is_open) return refuse('The restaurant is closed.', [{ field: 'restaurant_id', message: 'closed' }]);
  const distance = distanceKm(restaurant, request.delivery);
  if (distance > restaurant.delivery_radius_km) {
    return refuse(
      `The delivery point is ${distance.toFixed(1)} km away; this restaurant delivers within ${restaurant.delivery_radius_km} km.`,
      [{ field: 'delivery', message: 'outside the delivery range' }],
    );
  }
  const dishes = new Map(menu.map((m) => [m.id, m]));
  const seen = new Set<string>();
  const problems: PlacementProblem[] = [];
  request.items.forEach((line, i) => {
    const dish = dishes.get(line.menu_item_id);
    const field = `items/${i}/menu_item_id`;
    if (seen.has(line.menu_item_id)) problems.push({ field, message: 'listed twice; raise the quantity instead' });
    else if (!dish) problems.push({ field, message: 'not on this restaurant’s menu' });
    else if (!dish.is_available) problems.push({ field, message: 'currently unavailable' });
    seen.add(line.menu_item_id);
  });
  if (problems.length > 0) return refuse('Some items cannot be ordered.', problems);

  const ordered = request.items.map((line) => ({ line, dish: dishes.get(line.menu_item_id)! }));
  const priceChanges = ordered.flatMap(({ line, dish }, i) =>
    line.expected_unit_price_cents === undefined || line.expected_unit_price_cents === dish.price_cents
      ? []
      : [{ field: `items/${i}/expected_unit_price_cents`, menu_item_id: dish.id, shown_cents: line.expected_unit_price_cents, now_cents: dish.price_cents }],
  );
  if (priceChanges.length > 0) {
    return {
      ok: false,
      detail: 'Prices changed since they were shown; nothing was ordered. Show the new prices and order again.',
      problems: priceChanges.map((c) => ({ field: c.field, message: `now ${formatRupees(c.now_cents)}, shown ${formatRupees(c.shown_cents)}` })),
      priceChanges,
    };
  }
  const price = priceOrder(ordered.map(({ line, dish }) => ({ unitPriceCents: dish.price_cents, quantity: line.quantity })), distance);
  if (price.totalCents > MAX_ORDER_TOTAL_CENTS) {
    return refuse(
      `The order comes to ${formatRupees(price.totalCents)}; one order may come to at most ${formatRupees(MAX_ORDER_TOTAL_CENTS)}. Order fewer items, or split the order.`,
      [{ field: 'items', message: `the order total is over ${formatRupees(MAX_ORDER_TOTAL_CENTS)}` }],
    );
  }
  return {
    ok: true,
    distanceKm: distance,
    price,
    lines: ordered.map(({ line, dish }, i) => ({
      menu_item_id: dish.id,
      name: dish.name,
      quantity: line.quantity,
      unit_price_cents: dish.price_cents,
      line_total_cents: price.lineTotals[i]!,
    })),
  };
}
