/** Why an outside call produced no answer. A partner's "no" (a 4xx) is an answer, not one of these. */
export type FailureKind = 'timeout' | 'unavailable' | 'breaker_open' | 'bulkhead_full' | 'aborted' | 'bad_response';

export class PartnerError extends Error {
  override name = 'PartnerError';
  readonly partner: string;
  readonly kind: FailureKind;
  readonly status?: number;

  constructor(partner: string, kind: FailureKind, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(`${partner}: ${message}`, { cause: opts.cause });
    this.partner = partner;
    this.kind = kind;
    this.status = opts.status;
  }
}

/** A failed attempt worth retrying and worth counting against the breaker. */
export class TransientPartnerError extends PartnerError {
  override name = 'TransientPartnerError';
}

/** Why a partner call failed, for a reason, a metric label or a feed entry: its kind, or `otherwise` for anything not a PartnerError. */
export function failureKind(err: unknown, otherwise = 'error'): string {
  return err instanceof PartnerError ? err.kind : otherwise;
}
