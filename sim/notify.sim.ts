import { randomUUID } from 'node:crypto';
import { type FieldErrors, hasErrors, invalid, isObject, objectBody, str } from './fields.ts';
import { type PartnerSim, type Reply, type SimRequest, notFound, reply } from './http.ts';
import { IdempotencyStore } from './idempotency.ts';

const CHANNELS = ['push', 'sms'];

export interface SentMessage {
  message_id: string;
  channel: string;
  to: string;
  template: string;
  data: Record<string, unknown> | null;
  idempotency_key: string;
  sent_at: string;
}

/** A retried send with the same key returns the first message_id and is not "sent" again. */
export class NotifySim implements PartnerSim {
  #sent: SentMessage[] = [];
  #keys = new IdempotencyStore();

  handle(req: SimRequest): Reply {
    const [version, collection, extra] = req.segments;
    if (req.method !== 'POST' || version !== 'v1' || collection !== 'messages' || extra !== undefined)
      return notFound();
    const errors: FieldErrors = {};
    const body = objectBody(req.body, errors);
    const to = str(body, 'to', errors);
    const template = str(body, 'template', errors);
    const key = str(body, 'idempotency_key', errors);
    const channel = body['channel'];
    if (typeof channel !== 'string' || !CHANNELS.includes(channel))
      errors['channel'] = `must be one of ${CHANNELS.join(', ')}`;
    const data = body['data'] ?? null;
    if (data !== null && !isObject(data)) errors['data'] = 'must be an object';
    if (hasErrors(errors)) return invalid(errors);

    const fingerprint = `${channel}|${to}|${template}`;
    const seen = this.#keys.lookup(key, fingerprint);
    if (seen.kind !== 'new') return seen.reply;
    const message: SentMessage = {
      message_id: `msg_${randomUUID()}`,
      channel: channel as string,
      to,
      template,
      data: data as SentMessage['data'],
      idempotency_key: key,
      sent_at: new Date().toISOString(),
    };
    this.#sent.push(message);
    return this.#keys.remember(key, fingerprint, reply(202, { message_id: message.message_id }), undefined);
  }

  control(req: SimRequest): Reply | undefined {
    if (req.method !== 'GET' || req.segments[0] !== 'sent' || req.segments.length !== 1) return undefined;
    const to = new URLSearchParams(req.query).get('to');
    return reply(200, { messages: to === null ? this.#sent : this.#sent.filter((m) => m.to === to) });
  }

  reset(): void {
    this.#sent = [];
    this.#keys.clear();
  }
}
