/**
 * The failure taxonomy of ARCHITECTURE.md. The provider client classifies every failure once,
 * into exactly one of these classes; the engine and the handlers act on the class only.
 */

export type FailureClass =
  | 'account_auth'
  | 'platform_auth'
  | 'rate_limited'
  | 'transient'
  | 'permanent';

export interface ProviderErrorDetails {
  /** MTN's error code from the `{ code, message }` body, or our own for network failures. */
  code: string;
  /** HTTP status, when there was a response. */
  status?: number;
  /** For `rate_limited`: how long the provider asked us to wait. */
  retryAfterMs?: number;
}

/** A classified provider failure. `message` is safe to log: no token, payload or phone. */
export class ProviderError extends Error {
  readonly failureClass: FailureClass;
  readonly code: string;
  readonly status?: number;
  readonly retryAfterMs?: number;

  constructor(failureClass: FailureClass, details: ProviderErrorDetails, message?: string) {
    super(
      message ?? `${failureClass}: ${details.code}${details.status ? ` (${details.status})` : ''}`,
    );
    this.name = 'ProviderError';
    this.failureClass = failureClass;
    this.code = details.code;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }

  /** The sanitised code stored on the account and the sync run, e.g. `transient:SERVICE_UNAVAILABLE`. */
  get sanitisedCode(): string {
    return `${this.failureClass}:${this.code}`;
  }
}

/**
 * Our own provider credentials are broken (token endpoint 401, subscription key rejected). The
 * fleet must stop; no user is told.
 */
export class PlatformAuthError extends ProviderError {
  constructor(details: ProviderErrorDetails) {
    super('platform_auth', details);
    this.name = 'PlatformAuthError';
  }
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof ProviderError;
}

/** A message body that does not describe a sync; goes to the DLQ with this reason. */
export class InvalidMessageError extends Error {
  constructor(readonly reason: string) {
    super(`invalid message: ${reason}`);
    this.name = 'InvalidMessageError';
  }
}
