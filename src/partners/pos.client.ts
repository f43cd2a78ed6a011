import Type from 'typebox';
import { Minutes, PartnerId, Reason, Unread, answers } from './partner-answers.ts';
import type { PartnerHttp } from './partner-http.ts';

export type PosSubmission = { ok: true; posOrderId: string; prepMinutes: number } | { ok: false; reason: string };

/** Accepted with a ticket id we can cancel later, or refused (closed, out of stock). */
const SUBMIT = answers({
  ok: Type.Object({ pos_order_id: PartnerId, prep_minutes: Type.Optional(Minutes) }),
  no: { statuses: [409], body: Type.Object({ reason: Type.Optional(Reason) }) },
});
/** Cancelled, or never known (404): either way nothing is live. The body is not read. */
const CANCEL = answers({ ok: Unread, no: { statuses: [404], body: Unread } });

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
    const res = await this.#http.call({
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
      answers: SUBMIT,
    });
    if (!res.ok) return { ok: false, reason: res.body.reason ?? 'rejected' };
    return { ok: true, posOrderId: res.body.pos_order_id, prepMinutes: res.body.prep_minutes ?? 15 };
  }

  /** True once the POS has no live order for us: cancelled now, before, or never known. */
  async cancel(posOrderId: string, orderId: string, signal: AbortSignal): Promise<boolean> {
    await this.#http.call({
      operation: 'cancel',
      method: 'POST',
      path: `/v1/orders/${encodeURIComponent(posOrderId)}/cancel`,
      body: { idempotency_key: `cancel:${orderId}` },
      signal,
      answers: CANCEL,
    });
    return true;
  }
}
