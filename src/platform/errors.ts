/**
 * One error type for the whole service. `code` is stable and clients switch on it;
 * `message` is for a person. HTTP statuses are mapped from the kind in one place
 * (http/errors.ts), never chosen at the throw site.
 */
export type ErrorKind =
  | 'invalid' // 400: the request is malformed or a value is out of range
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409: valid request, but the current state forbids it
  | 'too_large' // 413
  | 'unprocessable' // 422: well-formed but semantically refused (e.g. idempotency key reuse)
  | 'rate_limited' // 429
  | 'unavailable' // 503: a dependency is down; safe to retry
  | 'internal'; // 500: a real fault

export class AppError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

export const invalid = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('invalid', code, message, details);
export const notFound = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('not_found', code, message, details);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('conflict', code, message, details);
export const forbidden = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('forbidden', code, message, details);
export const unauthenticated = (code: string, message: string) =>
  new AppError('unauthenticated', code, message);
export const unprocessable = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('unprocessable', code, message, details);

export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};
export const unavailable = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError('unavailable', code, message, details);
