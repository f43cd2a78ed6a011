/** Why an outside call produced no answer. A partner's "no" (an expected 4xx) is an answer, not one of these. */
export type FailureKind = 'timeout' | 'unavailable' | 'breaker_open' | 'bulkhead_full' | 'aborted' | 'bad_response';

export class PartnerError extends Error {
  override name = 'PartnerError';
  readonly partner: string;
  readonly kind: FailureKind;
  readonly status?: number;
  /**
   * Whether any byte of this call may have left the process, so the partner may have acted on it.
   * False only when that provably did not happen: the breaker was open, the bulkhead full, the caller
   * gone before an attempt started, or every attempt refused a connection. A replay with the same
   * idempotency key is needed (or harmless) only when this is true.
   */
  readonly mayHaveReached: boolean;

  constructor(
    partner: string,
    kind: FailureKind,
    message: string,
    opts: { status?: number; cause?: unknown; mayHaveReached?: boolean } = {},
  ) {
    super(`${partner}: ${message}`, { cause: opts.cause });
    this.partner = partner;
    this.kind = kind;
    this.status = opts.status;
    // Unknown means it may have: "never sent" is claimed only where it is proven.
    this.mayHaveReached = opts.mayHaveReached ?? true;
  }
}

/** A failed attempt worth retrying (and counted by the breaker): a timeout, a reset, a 5xx. */
export class TransientPartnerError extends PartnerError {
  override name = 'TransientPartnerError';
}

/** Why a partner call failed, for a reason, a metric label or a feed entry: its kind, or `otherwise` for anything not a PartnerError. */
export function failureKind(err: unknown, otherwise = 'error'): string {
  return err instanceof PartnerError ? err.kind : otherwise;
}
