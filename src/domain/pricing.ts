export interface PricedLine {
  unitPriceCents: number;
  quantity: number;
}

export const CURRENCY = 'INR';
/** Delivery fee: a base plus a per-km part, in paise; rounded to whole rupees so receipts look sane. */
const BASE_FEE_CENTS = 2_000;
const PER_KM_CENTS = 800;

export function deliveryFeeCents(distanceKm: number): number {
  return Math.round((BASE_FEE_CENTS + PER_KM_CENTS * Math.max(0, distanceKm)) / 100) * 100;
}

export function priceOrder(lines: readonly PricedLine[], distanceKm: number) {
  const lineTotals = lines.map((l) => l.unitPriceCents * l.quantity);
  const subtotalCents = lineTotals.reduce((a, b) => a + b, 0);
  const feeCents = deliveryFeeCents(distanceKm);
  return { lineTotals, subtotalCents, deliveryFeeCents: feeCents, totalCents: subtotalCents + feeCents };
}
