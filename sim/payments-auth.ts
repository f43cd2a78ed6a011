import { randomUUID } from 'node:crypto';
import { type Reply, reply } from './http.ts';

export type ChangeKind = 'capture' | 'void' | 'refund';
export type ChangeOutcome = 'captured' | 'voided' | 'refunded' | 'rejected';

export interface Authorization {
  id: string;
  order_id: string;
  amount_cents: number;
  currency: string;
  status: 'authorized' | 'captured' | 'voided';
  captured_cents: number;
  refunded_cents: number;
}

export interface Change {
  reply: Reply;
  amount_cents: number;
  outcome: ChangeOutcome;
}

const rejected = (reason: string, auth: Authorization, amount: number): Change => ({
  reply: reply(409, { status: 'rejected', reason, authorization_id: auth.id, authorization_status: auth.status }),
  amount_cents: amount,
  outcome: 'rejected',
});

/**
 * The authorization state machine: authorized → captured → (partially) refunded, or authorized → voided.
 * Anything else is a 409 naming the reason, e.g. a second capture under a new key is "already_captured".
 */
export function applyChange(kind: ChangeKind, auth: Authorization, requested: number | undefined): Change {
  const base = { authorization_id: auth.id, order_id: auth.order_id, currency: auth.currency };
  if (kind === 'capture') {
    const amount = requested ?? auth.amount_cents;
    if (auth.status !== 'authorized') return rejected(`already_${auth.status}`, auth, amount);
    if (amount > auth.amount_cents) return rejected('amount_exceeds_authorization', auth, amount);
    auth.status = 'captured';
    auth.captured_cents = amount;
    return {
      reply: reply(200, { ...base, status: 'captured', amount_cents: amount }),
      amount_cents: amount,
      outcome: 'captured',
    };
  }
  if (kind === 'void') {
    const amount = auth.amount_cents;
    if (auth.status !== 'authorized') return rejected(`already_${auth.status}`, auth, amount);
    auth.status = 'voided';
    return {
      reply: reply(200, { ...base, status: 'voided', amount_cents: amount }),
      amount_cents: amount,
      outcome: 'voided',
    };
  }
  const remaining = auth.captured_cents - auth.refunded_cents;
  const amount = requested ?? remaining;
  if (auth.status !== 'captured') return rejected('not_captured', auth, amount);
  if (amount === 0 || amount > remaining) return rejected('exceeds_captured_amount', auth, amount);
  auth.refunded_cents += amount;
  const refund = {
    ...base,
    refund_id: `rf_${randomUUID()}`,
    status: 'refunded',
    amount_cents: amount,
    refunded_total_cents: auth.refunded_cents,
  };
  return { reply: reply(200, refund), amount_cents: amount, outcome: 'refunded' };
}
