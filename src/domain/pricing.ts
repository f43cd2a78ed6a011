export interface PricedLine {
  unitPriceCents: number;
  quantity: number;
}

export const CURRENCY = 'INR';
/**
 * The most one order may come to, delivery included: ₹10,00,000. Order totals are stored in
 * PostgreSQL `integer` columns (at most 2^31 − 1, about ₹2.1 crore), and the menu allows 30 lines of
 * 50 at up to ₹1,00,000 each, so the cap is what keeps every total representable, with room to spare.
 * @see https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-INT
 */
export const MAX_ORDER_TOTAL_CENTS = 100_000_000;
/** Delivery fee: a base plus a per-km part, in paise; rounded to whole rupees so receipts look sane. */
const BASE_FEE_CENTS = 2_000;
const PER_KM_CENTS = 800;

export function deliveryFeeCents(distanceKm: number): number {
  return Math.round((BASE_FEE_CENTS + PER_KM_CENTS * Math.max(0, distanceKm)) / 100) * 100;
}

/** Rupees for a sentence a customer reads, e.g. `₹10,00,000`. */
export function formatRupees(cents: number): string {
  return `₹${(cents / 100).toLocaleString('en-IN', { maximumFractionDigits: 2 })}`;
}

export function priceOrder(lines: readonly PricedLine[], distanceKm: number) {
  const lineTotals = lines.map((l) => l.unitPriceCents * l.quantity);
  const subtotalCents = lineTotals.reduce((a, b) => a + b, 0);
  const feeCents = deliveryFeeCents(distanceKm);
  return { lineTotals, subtotalCents, deliveryFeeCents: feeCents, totalCents: subtotalCents + feeCents };
}
