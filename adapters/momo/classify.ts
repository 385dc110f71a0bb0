/**
 * The one place a MoMo failure gets its class (docs/momo-provider-contract.md, "Errors"). The
 * client calls these once per failed request; nothing downstream looks at statuses or bodies.
 */
import { PlatformAuthError, ProviderError } from '../../core/errors';

/** Which kind of route answered: the token endpoint, a wallet's route, or a merchant route. */
export type RouteKind = 'token' | 'wallet' | 'platform';

export interface HttpFailure {
  route: RouteKind;
  status: number;
  /** The parsed body, if it was JSON. */
  body: unknown;
  retryAfterMs?: number;
}

/** Codes that mean our own platform set-up is wrong, whatever the status says. */
const PLATFORM_CODES = new Set([
  'INVALID_SUBSCRIPTION_KEY',
  'NOT_ALLOWED_TARGET_ENVIRONMENT',
  // A freshly issued token being refused: the client has already refreshed once.
  'INVALID_TOKEN',
]);

const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The provider's code from `{ code }` (MTN's API) or `{ error }` (MTN's token endpoint),
 * upper-cased; `HTTP_<status>` when there is none. Anything that does not look like a code is
 * dropped so that no free text reaches a sanitised error code.
 */
export function providerCode(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const { code, error } = body as { code?: unknown; error?: unknown };
    const candidate = typeof code === 'string' ? code : typeof error === 'string' ? error : '';
    if (SAFE_CODE.test(candidate)) return candidate.toUpperCase();
  }
  return `HTTP_${status}`;
}

/** Classifies a non-2xx answer into exactly one failure class. */
export function classifyHttpFailure(failure: HttpFailure): ProviderError {
  const { route, status, retryAfterMs } = failure;
  const code = providerCode(status, failure.body);
  if (PLATFORM_CODES.has(code)) return new PlatformAuthError({ code, status });
  if (status === 429) return new ProviderError('rate_limited', { code, status, retryAfterMs });
  if (status === 401 || status === 403) {
    // A wallet's link problem always carries the provider's code. A refusal without one comes
    // from the gateway in front of it (API Management's answer to a rejected subscription key
    // is `{ statusCode, message }`), says nothing about this wallet and must push nobody.
    if (route === 'wallet' && code !== `HTTP_${status}`) {
      return new ProviderError('account_auth', { code, status });
    }
    return new PlatformAuthError({ code, status });
  }
  if (status >= 500 || status === 408) return new ProviderError('transient', { code, status });
  return new ProviderError('permanent', { code, status });
}

/** Classifies a request that got no answer: our timeout, a reset, a refused connection. */
export function classifyNetworkFailure(error: unknown): ProviderError {
  const name = error instanceof Error ? error.name : '';
  const code = name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK_ERROR';
  return new ProviderError('transient', { code });
}

/** A response the contract says is impossible; never retried. */
export function invalidPayload(status: number, where: string): ProviderError {
  return new ProviderError(
    'permanent',
    { code: 'INVALID_PAYLOAD', status },
    `permanent: INVALID_PAYLOAD at ${where}`,
  );
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when unusable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Every HTTP-date form starts with a day name; this keeps "-1" from parsing as year -1.
  const at = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
