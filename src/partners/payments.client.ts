import { PartnerError } from './partner-errors.ts';
import type { PartnerHttp } from './partner-http.ts';

export type Authorization = { ok: true; authorizationId: string } | { ok: false; reason: string };
export type Settlement = { ok: true } | { ok: false; reason: string };

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
    const res = await this.#http.call<{ authorization_id?: string; reason?: string }>({
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
    });
    if (res.status < 300 && res.body.authorization_id) return { ok: true, authorizationId: res.body.authorization_id };
    if (res.status === 402) return { ok: false, reason: res.body.reason ?? 'declined' };
    throw new PartnerError('payments', 'bad_response', `authorize answered ${res.status}`, { status: res.status });
  }

  capture(authorizationId: string, orderId: string, signal: AbortSignal) {
    return this.#settle('capture', authorizationId, orderId, signal);
  }

  void(authorizationId: string, orderId: string, signal: AbortSignal) {
    return this.#settle('void', authorizationId, orderId, signal);
  }

  async #settle(operation: 'capture' | 'void', authorizationId: string, orderId: string, signal: AbortSignal): Promise<Settlement> {
    const res = await this.#http.call<{ reason?: string }>({
      operation,
      method: 'POST',
      path: `/v1/authorizations/${encodeURIComponent(authorizationId)}/${operation}`,
      body: { idempotency_key: `${operation}:${orderId}` },
      signal,
    });
    if (res.status < 300) return { ok: true };
    if (res.status === 409 || res.status === 404) return { ok: false, reason: res.body.reason ?? `status ${res.status}` };
    throw new PartnerError('payments', 'bad_response', `${operation} answered ${res.status}`, { status: res.status });
  }
}
