import { randomUUID } from 'node:crypto';
import { type FieldErrors, hasErrors, int, invalid, isObject, objectBody, optionalInt, str } from './fields.ts';
import { type PartnerSim, type Reply, type SimRequest, notFound, reply } from './http.ts';
import { IdempotencyStore } from './idempotency.ts';
import { type Authorization, type ChangeKind, type ChangeOutcome, applyChange } from './payments-auth.ts';

/** Above this the sim declines, so tests can provoke a decline without any setup. */
const DECLINE_ABOVE_CENTS = 500_000;

type Kind = 'authorize' | ChangeKind;
type Outcome = 'authorized' | 'declined' | ChangeOutcome;

export interface LedgerEntry {
  seq: number;
  at: string;
  kind: Kind;
  order_id: string | null;
  authorization_id: string | null;
  amount_cents: number;
  idempotency_key: string;
  outcome: Outcome;
  /** True when the key had been seen: the request changed nothing and got the first result back. */
  replay: boolean;
}

type Operation = Pick<LedgerEntry, 'kind' | 'order_id' | 'authorization_id' | 'amount_cents' | 'outcome'>;

/**
 * Replays are written to the ledger with replay: true (never silently dropped), so a test can see that
 * the API retried and that the retry did not charge twice: exactly one non-replay entry per operation.
 */
export class PaymentsSim implements PartnerSim {
  #auths = new Map<string, Authorization>();
  #declines = new Map<string, string>();
  #keys = new IdempotencyStore<Operation>();
  #ledger: LedgerEntry[] = [];

  handle(req: SimRequest): Reply {
    const [version, collection, id, action, extra] = req.segments;
    if (req.method !== 'POST' || version !== 'v1' || collection !== 'authorizations' || extra !== undefined) {
      return notFound();
    }
    if (id === undefined) return this.#authorize(req.body);
    if (action === 'capture' || action === 'void' || action === 'refund') return this.#change(action, id, req.body);
    return notFound();
  }

  control(req: SimRequest): Reply | undefined {
    const [resource, orderId, extra] = req.segments;
    if (resource === 'ledger' && orderId === undefined && req.method === 'GET') {
      const wanted = new URLSearchParams(req.query).get('order_id');
      const entries = wanted === null ? this.#ledger : this.#ledger.filter((e) => e.order_id === wanted);
      return reply(200, { entries });
    }
    if (resource !== 'declines' || orderId === undefined || extra !== undefined) return undefined;
    if (req.method === 'PUT') {
      const reason =
        isObject(req.body) && typeof req.body['reason'] === 'string' ? req.body['reason'] : 'card_declined';
      this.#declines.set(orderId, reason);
      return reply(200, { order_id: orderId, decline: true, reason });
    }
    if (req.method === 'DELETE') {
      this.#declines.delete(orderId);
      return reply(200, { order_id: orderId, decline: false });
    }
    return undefined;
  }

  reset(): void {
    this.#auths.clear();
    this.#declines.clear();
    this.#keys.clear();
    this.#ledger = [];
  }

  #authorize(raw: unknown): Reply {
    const errors: FieldErrors = {};
    const body = objectBody(raw, errors);
    const orderId = str(body, 'order_id', errors);
    const amount = int(body, 'amount_cents', errors, 1);
    const key = str(body, 'idempotency_key', errors);
    const currency = body['currency'];
    if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) errors['currency'] = 'must be an ISO 4217 code';
    if (hasErrors(errors)) return invalid(errors);
    const currencyCode = currency as string;

    return this.#once(key, `authorize|${orderId}|${amount}|${currencyCode}`, () => {
      const op = { kind: 'authorize', order_id: orderId, amount_cents: amount } as const;
      const declineReason =
        this.#declines.get(orderId) ?? (amount > DECLINE_ABOVE_CENTS ? 'amount_limit_exceeded' : undefined);
      if (declineReason !== undefined) {
        return [
          reply(402, { status: 'declined', reason: declineReason }),
          { ...op, authorization_id: null, outcome: 'declined' },
        ];
      }
      const auth: Authorization = {
        id: `auth_${randomUUID()}`,
        order_id: orderId,
        amount_cents: amount,
        currency: currencyCode,
        status: 'authorized',
        captured_cents: 0,
        refunded_cents: 0,
      };
      this.#auths.set(auth.id, auth);
      const body = {
        authorization_id: auth.id,
        status: 'authorized',
        order_id: orderId,
        amount_cents: amount,
        currency: currencyCode,
      };
      return [reply(201, body), { ...op, authorization_id: auth.id, outcome: 'authorized' }];
    });
  }

  #change(kind: ChangeKind, id: string, raw: unknown): Reply {
    const errors: FieldErrors = {};
    const body = objectBody(raw, errors);
    const key = str(body, 'idempotency_key', errors);
    const requested = kind === 'void' ? undefined : optionalInt(body, 'amount_cents', errors, 1);
    if (hasErrors(errors)) return invalid(errors);

    return this.#once(key, `${kind}|${id}|${requested ?? ''}`, () => {
      const auth = this.#auths.get(id);
      if (auth === undefined) {
        const op = {
          kind,
          order_id: null,
          authorization_id: id,
          amount_cents: requested ?? 0,
          outcome: 'rejected',
        } as const;
        return [reply(404, { error: 'authorization not found', authorization_id: id }), op];
      }
      const change = applyChange(kind, auth, requested);
      const { amount_cents, outcome } = change;
      return [change.reply, { kind, order_id: auth.order_id, authorization_id: id, amount_cents, outcome }];
    });
  }

  #once(key: string, fingerprint: string, run: () => [Reply, Operation]): Reply {
    const seen = this.#keys.lookup(key, fingerprint);
    if (seen.kind === 'conflict') return seen.reply;
    if (seen.kind === 'replay') {
      this.#record(seen.note, key, true);
      return seen.reply;
    }
    const [result, op] = run();
    this.#record(op, key, false);
    return this.#keys.remember(key, fingerprint, result, op);
  }

  #record(op: Operation, key: string, replay: boolean): void {
    this.#ledger.push({
      seq: this.#ledger.length + 1,
      at: new Date().toISOString(),
      ...op,
      idempotency_key: key,
      replay,
    });
  }
}
