/**
 * The typed errors of the API's domain. The handler maps them to a response and nothing else;
 * every other error is a 500 whose body says nothing about its cause.
 */
import type { ApiErrorCode } from './contract';

/** An error the caller can act on: its status, code and message go on the wire as they are. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** Seconds for the `Retry-After` header (429). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

/** 400: the id, query string or body is not what the route accepts; `reason` says why. */
export const invalidRequest = (reason: string) => new ApiError(400, 'invalid_request', reason);

/** 404: no such account for this caller. Someone else's account answers exactly the same. */
export const accountNotFound = () => new ApiError(404, 'not_found', 'No such account.');

export const relinkRequired = () =>
  new ApiError(
    409,
    'relink_required',
    'The wallet link expired or was revoked: re-link the wallet, then sync.',
  );

export const syncRunning = () =>
  new ApiError(
    409,
    'sync_running',
    'A sync of this account is running: try again when it has finished.',
  );

export const conflict = () =>
  new ApiError(409, 'conflict', 'The account changed while the request ran: try again.');

export const syncRateLimited = (retryAfterSeconds: number, intervalSeconds: number) =>
  new ApiError(
    429,
    'sync_rate_limited',
    `A sync of this account was requested less than ${intervalSeconds} s ago: ` +
      `try again in ${retryAfterSeconds} s.`,
    retryAfterSeconds,
  );

export const payloadTooLarge = (limitBytes: number) =>
  new ApiError(413, 'payload_too_large', `The body is larger than ${limitBytes} bytes.`);

export const unsupportedMediaType = () =>
  new ApiError(415, 'unsupported_media_type', 'Send the body as application/json.');
