import { Readable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import type { OrderExportRepository } from '../db/repositories/order-export.repository.ts';
import type { RestaurantRepository } from '../db/repositories/restaurant.repository.ts';
import type { Principal } from '../domain/identity.ts';
import { EXPORT_MEDIA_TYPES, type ExportFormat, exportFilename, exportWriter } from '../domain/order-export-format.ts';
import { badRequest, notFound } from '../errors.ts';

export interface ExportQuery {
  from?: string;
  to?: string;
  format: ExportFormat;
}

export interface OrderExport {
  filename: string;
  contentType: string;
  /** The file, produced as fast as its reader takes it. */
  body: Readable;
}

/** Without `from`, an export covers the 30 days before `to` (now, without `to`). */
const DEFAULT_WINDOW_MS = 30 * 24 * 3600 * 1000;
/** Rows a cursor read brings: one chunk of the response, about 150 KB of CSV. */
const BATCH_ROWS = 1_000;
/** Chunks made ahead of the socket: enough to keep it busy while the next batch is read, no more. */
const CHUNKS_AHEAD = 2;

function instant(field: 'from' | 'to', text: string): Date {
  const at = new Date(text);
  // The schema checked RFC 3339's shape; a few such texts (a leap second, 23:59:60) are no instant JavaScript has.
  if (Number.isNaN(at.getTime())) throw badRequest(`\`${field}\` is not a date-time dabba can use.`, [{ field: `querystring/${field}`, message: 'must be a date-time' }]);
  return at;
}

/** [from, to): `to` defaults to now, `from` to 30 days before `to`. */
export function exportWindow(q: Pick<ExportQuery, 'from' | 'to'>, now = new Date()) {
  const to = q.to === undefined ? now : instant('to', q.to);
  const from = q.from === undefined ? new Date(to.getTime() - DEFAULT_WINDOW_MS) : instant('from', q.from);
  if (from > to) {
    const detail = `\`from\` must not be after \`to\`${q.to === undefined ? ' (now, when not given)' : ''}.`;
    throw badRequest(detail, [{ field: 'querystring/from', message: 'must not be after to' }]);
  }
  return { from, to };
}

/**
 * A restaurant's orders as a file, for its owner and admins: streamed from a PostgreSQL cursor into the
 * response with backpressure at every step (the socket drains → the stream asks for a chunk → the
 * cursor reads a batch), so memory stays flat whatever the window holds.
 *
 * - Nothing is sent until the first batch is read: a refusal, an unknown restaurant, a busy export pool
 *   or a failing query is still a problem answer.
 * - A client that goes away stops the read: the response's stream is destroyed, the cursor closed and
 *   its connection given back (CursorPool).
 * - A failure once bytes have gone (the database lost, the duration limit passed) is logged and the
 *   response is cut without its last chunk, so the client sees a broken download, never a short file
 *   that looks whole.
 */
export class OrderExportService {
  readonly #restaurants: RestaurantRepository;
  readonly #exports: OrderExportRepository;
  readonly #maxDurationMs: number;
  readonly #log: FastifyBaseLogger;

  constructor(deps: { restaurants: RestaurantRepository; exports: OrderExportRepository; maxDurationMs: number; log: FastifyBaseLogger }) {
    this.#restaurants = deps.restaurants;
    this.#exports = deps.exports;
    this.#maxDurationMs = deps.maxDurationMs;
    this.#log = deps.log;
  }

  async open(who: Principal, restaurantId: string, q: ExportQuery, signal: AbortSignal): Promise<OrderExport> {
    const window = exportWindow(q);
    const restaurant = await this.#restaurants.findById(restaurantId);
    // Another owner's restaurant does not exist for this caller, as everywhere else.
    if (!restaurant || (who.role !== 'admin' && restaurant.owner_id !== who.id)) throw notFound('Restaurant');

    const started = Date.now();
    const batches = this.#exports.batches({ restaurantId, ...window }, BATCH_ROWS);
    const first = await batches.next();
    const firstRows = first.done ? [] : first.value;
    const writer = exportWriter(q.format);
    const log = this.#log.child({ restaurant_id: restaurantId, format: q.format });
    let rows = 0;
    async function* chunks() {
      try {
        rows += firstRows.length;
        yield writer.head + firstRows.map(writer.record).join('');
        for await (const batch of batches) {
          rows += batch.length;
          yield batch.map(writer.record).join('');
        }
      } catch (err) {
        log.error({ err, rows_read: rows, ms: Date.now() - started }, 'order export failed after it started; the response is cut short');
        throw err;
      }
    }
    const body = Readable.from(chunks(), { highWaterMark: CHUNKS_AHEAD });

    const cut = () => body.destroy();
    // From the first batch on; until then PostgreSQL's statement_timeout bounds the wait (CursorPool).
    const deadline = setTimeout(
      () => body.destroy(new Error(`the export ran past EXPORT_MAX_DURATION_MS (${this.#maxDurationMs} ms)`)),
      this.#maxDurationMs,
    );
    signal.addEventListener('abort', cut, { once: true });
    body.once('close', () => {
      clearTimeout(deadline);
      signal.removeEventListener('abort', cut);
      // Destroyed before it was first read, `chunks` never ran and so never closed the cursor.
      void batches.return();
    });
    if (signal.aborted) cut();
    return { filename: exportFilename(restaurantId, window.from, window.to, q.format), contentType: EXPORT_MEDIA_TYPES[q.format], body };
  }
}
