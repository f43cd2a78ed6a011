import { Unread, answers } from './partner-answers.ts';
import type { PartnerHttp } from './partner-http.ts';

export interface Notification {
  channel: 'push' | 'sms';
  to: string;
  template: string;
  data: Record<string, unknown>;
  /** One key per message: a retried job sends it once. */
  key: string;
}

/** Accepted is all we need to know; the body (a message id) is not read. */
const SEND = answers({ ok: Unread });

export class NotifyClient {
  readonly #http: PartnerHttp;

  constructor(http: PartnerHttp) {
    this.#http = http;
  }

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    await this.#http.call({
      operation: 'send',
      method: 'POST',
      path: '/v1/messages',
      body: { channel: n.channel, to: n.to, template: n.template, data: n.data, idempotency_key: n.key },
      signal,
      answers: SEND,
    });
  }
}
