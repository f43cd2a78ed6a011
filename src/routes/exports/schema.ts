import type { Readable } from 'node:stream';
import Type from 'typebox';
import { CSV_COLUMNS, EXPORT_FORMATS } from '../../domain/order-export-format.ts';
import { IdParams, problems } from '../shared.schema.ts';

const Instant = (description: string) => Type.String({ format: 'date-time', description });

const ExportQuery = Type.Object(
  {
    from: Type.Optional(Instant('orders created at or after this instant (RFC 3339 with an offset); default: 30 days before `to`')),
    to: Type.Optional(Instant('orders created before this instant; default: now. `from` must not be after it')),
    format: Type.Enum(EXPORT_FORMATS, { default: 'csv' }),
  },
  { additionalProperties: false },
);

const COLUMNS =
  '`order_id`, `created_at` (UTC, ISO 8601), `status`, `payment_state` (`captured` once the money is taken, `voided` when released), ' +
  '`currency`, `subtotal_cents`, `delivery_fee_cents`, `total_cents` (integers in the currency\'s minor unit: paise), `item_count`, ' +
  '`items`, `delivery_address`, `status_reason` (why it was rejected or cancelled)';

/** Text in the document; to the handler's types, the stream that produces it. */
const file = (description: string, schema: string) => ({ schema: Type.Unsafe<Readable>(Type.String({ description: schema })), description });

export const ExportOrders = {
  security: [{ bearer: [] }],
  tags: ['restaurants'],
  summary: "A restaurant's orders as a file: CSV or NDJSON, streamed (its owner or an admin)",
  description:
    `The orders created in [from, to), oldest first (then by id), one record each: ${COLUMNS}. Another owner's restaurant is a 404. ` +
    'The file is streamed as it is read from the database, so any window can be asked for; an export still running after ' +
    'EXPORT_MAX_DURATION_MS is cut. At most EXPORT_MAX_CONCURRENT exports run at once per server process; past them the answer is 503 ' +
    'with `Retry-After`. Every refusal comes before the first byte, as a problem; a failure after it cuts the connection, so the ' +
    'download ends broken rather than short.',
  params: IdParams,
  querystring: ExportQuery,
  response: {
    200: {
      description: 'The file, as an attachment (`Content-Disposition`), chunked',
      content: {
        'text/csv': file(
          'RFC 4180: a header row, then one record per order, CRLF line ends, UTF-8 without a byte-order mark',
          `columns ${CSV_COLUMNS.join(', ')}; \`items\` as "2 x Paneer Tikka; 1 x Naan". A text cell starting with =, +, -, @, tab or CR ` +
            "is prefixed with ' so no spreadsheet runs it as a formula; amounts and counts are bare integers",
        ),
        'application/x-ndjson': file(
          'One JSON object per line (LF)',
          'the same fields as the CSV, with `items` as a list of { name, quantity, unit_price_cents, line_total_cents }; no prefixing',
        ),
      },
    },
    ...problems(400, 401, 403, 404, 503),
  },
};
