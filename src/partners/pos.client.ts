import { PartnerError } from './partner-errors.ts';
import type { PartnerHttp } from './partner-http.ts';

export type PosSubmission = { ok: true; posOrderId: string; prepMinutes: number } | { ok: false; reason: string };

/** A restaurant's point of sale: takes the order or says why not (closed, out of stock). */
export class PosClient {
  readonly #http: PartnerHttp;

  constructor(http: PartnerHttp) {
    this.#http = http;
  }

  async submit(
    order: { id: string; restaurantId: string; items: { menu_item_id: string; quantity: number }[] },
    signal: AbortSignal,
  ): Promise<PosSubmission> {
    const res = await this.#http.call<{ pos_order_id?: string; prep_minutes?: number; reason?: string }>({
      operation: 'submit',
      method: 'POST',
      path: '/v1/orders',
      body: {
        order_id: order.id,
        restaurant_id: order.restaurantId,
        items: order.items.map((i) => ({ menu_item_id: i.menu_item_id, quantity: i.quantity })),
        idempotency_key: `submit:${order.id}`,
      },
      signal,
    });
    if (res.status < 300 && res.body.pos_order_id) {
      return { ok: true, posOrderId: res.body.pos_order_id, prepMinutes: res.body.prep_minutes ?? 15 };
    }
    if (res.status === 409) return { ok: false, reason: res.body.reason ?? 'rejected' };
    throw new PartnerError('pos', 'bad_response', `submit answered ${res.status}`, { status: res.status });
  }

  /** True once the POS has no live order for us: cancelled now, before, or never known. */
  async cancel(posOrderId: string, orderId: string, signal: AbortSignal): Promise<boolean> {
    const res = await this.#http.call({
      operation: 'cancel',
      method: 'POST',
      path: `/v1/orders/${encodeURIComponent(posOrderId)}/cancel`,
      body: { idempotency_key: `cancel:${orderId}` },
      signal,
    });
    if (res.status < 300 || res.status === 404) return true;
    throw new PartnerError('pos', 'bad_response', `cancel answered ${res.status}`, { status: res.status });
  }
}
