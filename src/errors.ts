/**
 * Errors a service raises on purpose. The error handler turns each into RFC 9457 problem details;
 * anything else is a bug and reaches the client as a bare 500.
 * @see https://www.rfc-editor.org/rfc/rfc9457
 */
/** Every problem type dabba answers with is a page under one base. */
export const problemType = (slug: string | number) => `https://dabba.dev/problems/${slug}`;

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  readonly type: string;
  readonly errors?: FieldError[];
  readonly extra?: Record<string, unknown>;

  constructor(
    status: number,
    slug: string,
    title: string,
    detail: string,
    opts: { errors?: FieldError[]; extra?: Record<string, unknown> } = {},
  ) {
    super(detail);
    this.status = status;
    this.type = problemType(slug);
    this.title = title;
    this.errors = opts.errors;
    this.extra = opts.extra;
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new AppError(400, 'bad-request', 'Bad request', detail, { errors });
export const unauthorized = (detail = 'A valid bearer token is required.') =>
  new AppError(401, 'unauthorized', 'Unauthorized', detail);
export const forbidden = (detail: string) => new AppError(403, 'forbidden', 'Forbidden', detail);
export const notFound = (what: string) => new AppError(404, 'not-found', 'Not found', `${what} was not found.`);
export const conflict = (detail: string, extra?: Record<string, unknown>) =>
  new AppError(409, 'conflict', 'Conflict', detail, { extra });
export const unprocessable = (detail: string, errors?: FieldError[]) =>
  new AppError(422, 'unprocessable', 'Unprocessable request', detail, { errors });

/** A price the customer was shown is no longer the price: nothing was ordered, and each line says both figures. */
export const priceChanged = (
  detail: string,
  errors: FieldError[],
  changes: { field: string; menu_item_id: string; shown_cents: number; now_cents: number }[],
) => new AppError(409, 'price-changed', 'Price changed', detail, { errors, extra: { changes } });
