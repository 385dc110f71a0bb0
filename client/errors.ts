/** What a call of the app API can fail with. */
import type { ErrorCode } from './types';

/**
 * The API answered with an error. `code` is the API's own (see docs/openapi.yaml), or
 * `gateway` for the bodies API Gateway writes itself (401 from the authorizer, throttling).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'gateway' | 'unexpected_response',
    message: string,
    /** From `Retry-After`, when the answer carried one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The request never got an answer: offline, DNS, a reset, or the client's own timeout. */
export class NetworkError extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'NetworkError';
  }
}

export function isApiError(error: unknown, code?: ApiError['code']): error is ApiError {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

export function isNetworkError(error: unknown): error is NetworkError {
  return error instanceof NetworkError;
}
