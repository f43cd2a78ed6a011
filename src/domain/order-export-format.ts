/**
 * How an order export is written: the columns a restaurant's accountant needs, as CSV (RFC 4180, safe
 * to open in a spreadsheet) or as NDJSON (one JSON object a line, for programs).
 * @see https://www.rfc-editor.org/rfc/rfc4180
 * @see https://owasp.org/www-community/attacks/CSV_Injection
 * @see https://github.com/ndjson/ndjson-spec
 */

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportedItem {
  name: string;
  quantity: number;
  unit_price_cents: number;
  line_total_cents: number;
}

/** One order as an export lists it. Amounts are integers in the currency's minor unit (paise), as everywhere in dabba. */
export interface ExportedOrder {
  id: string;
  created_at: Date;
  status: string;
  payment_state: string;
  currency: string;
  subtotal_cents: number;
  delivery_fee_cents: number;
  total_cents: number;
  items: ExportedItem[];
  delivery_address: string;
  status_reason: string | null;
}

type Cell = string | number | null;

const itemCount = (o: ExportedOrder) => o.items.reduce((n, i) => n + i.quantity, 0);
const itemSummary = (o: ExportedOrder) => o.items.map((i) => `${i.quantity} x ${i.name}`).join('; ');

/** The CSV's columns in order, each with its cell: a number is dabba's own integer, text may come from people. */
const COLUMNS: readonly [string, (o: ExportedOrder) => Cell][] = [
  ['order_id', (o) => o.id],
  ['created_at', (o) => o.created_at.toISOString()],
  ['status', (o) => o.status],
  ['payment_state', (o) => o.payment_state],
  ['currency', (o) => o.currency],
  ['subtotal_cents', (o) => o.subtotal_cents],
  ['delivery_fee_cents', (o) => o.delivery_fee_cents],
  ['total_cents', (o) => o.total_cents],
  ['item_count', itemCount],
  ['items', itemSummary],
  ['delivery_address', (o) => o.delivery_address],
  ['status_reason', (o) => o.status_reason],
];

export const CSV_COLUMNS = COLUMNS.map(([name]) => name);

/**
 * A spreadsheet runs a cell that starts with one of these as a formula (or, for tab and CR, may strip
 * them and then find one); a leading apostrophe makes it text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A field holding any of these is quoted, its quotes doubled (RFC 4180, 2.6 and 2.7). */
const NEEDS_QUOTES = /[",\r\n]/;

/** Text made safe to open in a spreadsheet, then quoted as RFC 4180 asks. */
export function csvText(text: string): string {
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * Numbers are never neutralised: every one is an integer dabba computed (prices, counts), written bare
 * so a spreadsheet sums it, and a negative one would be a number too, not a formula. Anything else in
 * a number column is a bug, refused rather than written.
 */
function csvNumber(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`an export's number cell must be an integer, got ${n}`);
  return String(n);
}

const csvCell = (cell: Cell) => (cell === null ? '' : typeof cell === 'number' ? csvNumber(cell) : csvText(cell));

export const csvHeader = () => `${CSV_COLUMNS.join(',')}\r\n`;

export const csvRecord = (o: ExportedOrder) => `${COLUMNS.map(([, cell]) => csvCell(cell(o))).join(',')}\r\n`;

/** The same fields as the CSV, with the items as a list rather than a summary; JSON needs no neutralising. */
export function ndjsonRecord(o: ExportedOrder): string {
  return `${JSON.stringify({
    order_id: o.id,
    created_at: o.created_at.toISOString(),
    status: o.status,
    payment_state: o.payment_state,
    currency: o.currency,
    subtotal_cents: o.subtotal_cents,
    delivery_fee_cents: o.delivery_fee_cents,
    total_cents: o.total_cents,
    item_count: itemCount(o),
    items: o.items,
    delivery_address: o.delivery_address,
    status_reason: o.status_reason,
  })}\n`;
}

export const EXPORT_MEDIA_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
};

/** What comes before the first order, and how each is written. */
export function exportWriter(format: ExportFormat): { head: string; record: (o: ExportedOrder) => string } {
  return format === 'csv' ? { head: csvHeader(), record: csvRecord } : { head: '', record: ndjsonRecord };
}

/** `2026-11-01T00:00:00.000Z` → `20261101T000000Z`: a file name's part with nothing a file system or header minds. */
const compact = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(/[-:]/g, '');

export const exportFilename = (restaurantId: string, from: Date, to: Date, format: ExportFormat) =>
  `orders-${restaurantId}-${compact(from)}-${compact(to)}.${format}`;
