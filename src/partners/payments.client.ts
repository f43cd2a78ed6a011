import Type from 'typebox';
import { PartnerId, Reason, Unread, answers } from './partner-answers.ts';
import type { PartnerHttp } from './partner-http.ts';

export type Authorization = { ok: true; authorizationId: string } | { ok: false; reason: string };
export type Settlement = { ok: true } | { ok: false; reason: string };

const Refusal = Type.Object({ reason: Type.Optional(Reason) });
/** Authorised with an id we can capture or void later, or declined (402). */
const AUTHORIZE = answers({ ok: Type.Object({ authorization_id: PartnerId }), no: { statuses: [402], body: Refusal } });
/** Done (the body is not read), or refused: already settled the other way (409), unknown (404). */
const SETTLE = answers({ ok: Unread, no: { statuses: [409, 404], body: Refusal } });

/**
 * The payment gateway. Each operation's idempotency key is derived from the order, so every retry,
 * every replayed job and every node asks for the same single effect: no double charge.
 */
export class PaymentsClient {
  readonly #http: PartnerHttp;

  constructor(http: PartnerHttp) {
    this.#http = http;
  }

  async authorize(order: { id: string; totalCents: number; currency: string }, signal: AbortSignal): Promise<Authorization> {
    const res = await this.#http.call({
      operation: 'authorize',
      method: 'POST',
      path: '/v1/authorizations',
      body: {
        order_id: order.id,
        amount_cents: order.totalCents,
        currency: order.currency,
        idempotency_key: `authorize:${order.id}`,
      },
      signal,
      answers: AUTHORIZE,
    });
    return res.ok ? { ok: true, authorizationId: res.body.authorization_id } : { ok: false, reason: res.body.reason ?? 'declined' };
  }

  capture(authorizationId: string, orderId: string, signal: AbortSignal) {
    return this.#settle('capture', authorizationId, orderId, signal);
  }

  void(authorizationId: string, orderId: string, signal: AbortSignal) {
    return this.#settle('void', authorizationId, orderId, signal);
  }

  async #settle(operation: 'capture' | 'void', authorizationId: string, orderId: string, signal: AbortSignal): Promise<Settlement> {
    const res = await this.#http.call({
      operation,
      method: 'POST',
      path: `/v1/authorizations/${encodeURIComponent(authorizationId)}/${operation}`,
      body: { idempotency_key: `${operation}:${orderId}` },
      signal,
      answers: SETTLE,
    });
    return res.ok ? { ok: true } : { ok: false, reason: res.body.reason ?? `status ${res.status}` };
  }
}
