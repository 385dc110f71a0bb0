import { describe, expect, it } from 'vitest';
import {
  classifyHttpFailure,
  classifyNetworkFailure,
  parseRetryAfter,
  providerCode,
  type RouteKind,
} from '../../../adapters/momo/classify';
import { PlatformAuthError } from '../../../core/errors';

const mtn = (code: string) => ({ code, message: 'anything' });

describe('classifyHttpFailure', () => {
  it.each<[string, RouteKind, number, unknown, string, string]>([
    ['a revoked link', 'wallet', 403, mtn('LINK_REVOKED'), 'account_auth', 'LINK_REVOKED'],
    ['an expired link', 'wallet', 401, mtn('LINK_EXPIRED'), 'account_auth', 'LINK_EXPIRED'],
    [
      'a wallet 403 with any other code',
      'wallet',
      403,
      mtn('NOT_ALLOWED'),
      'account_auth',
      'NOT_ALLOWED',
    ],
    // A gateway refusing us (no provider code) answers every route alike: never a user's link.
    ['a wallet 401 without a code', 'wallet', 401, undefined, 'platform_auth', 'HTTP_401'],
    [
      "the API gateway's answer to a rejected subscription key",
      'wallet',
      401,
      { statusCode: 401, message: 'Access denied due to invalid subscription key.' },
      'platform_auth',
      'HTTP_401',
    ],
    ['a refused token', 'wallet', 401, mtn('INVALID_TOKEN'), 'platform_auth', 'INVALID_TOKEN'],
    [
      'a rejected subscription key on a wallet route',
      'wallet',
      401,
      mtn('INVALID_SUBSCRIPTION_KEY'),
      'platform_auth',
      'INVALID_SUBSCRIPTION_KEY',
    ],
    [
      'the token endpoint refusing us',
      'token',
      401,
      { error: 'login_failed' },
      'platform_auth',
      'LOGIN_FAILED',
    ],
    ['the token endpoint forbidding us', 'token', 403, undefined, 'platform_auth', 'HTTP_403'],
    ['a merchant route 401', 'platform', 401, mtn('NOT_ALLOWED'), 'platform_auth', 'NOT_ALLOWED'],
    [
      "MTN's 500 for a wrong target environment",
      'wallet',
      500,
      mtn('NOT_ALLOWED_TARGET_ENVIRONMENT'),
      'platform_auth',
      'NOT_ALLOWED_TARGET_ENVIRONMENT',
    ],
    ['a 429', 'wallet', 429, mtn('TOO_MANY_REQUESTS'), 'rate_limited', 'TOO_MANY_REQUESTS'],
    ['a 429 on the token endpoint', 'token', 429, undefined, 'rate_limited', 'HTTP_429'],
    [
      'a 500',
      'wallet',
      500,
      mtn('INTERNAL_PROCESSING_ERROR'),
      'transient',
      'INTERNAL_PROCESSING_ERROR',
    ],
    ['a 503', 'wallet', 503, mtn('SERVICE_UNAVAILABLE'), 'transient', 'SERVICE_UNAVAILABLE'],
    ['a 502 from a proxy', 'wallet', 502, '<html>bad gateway</html>', 'transient', 'HTTP_502'],
    ['a token endpoint 500', 'token', 500, undefined, 'transient', 'HTTP_500'],
    ['a 408', 'wallet', 408, undefined, 'transient', 'HTTP_408'],
    [
      'an unknown wallet',
      'wallet',
      404,
      mtn('RESOURCE_NOT_FOUND'),
      'permanent',
      'RESOURCE_NOT_FOUND',
    ],
    ['a rejected query', 'wallet', 400, mtn('INVALID_PARAMETER'), 'permanent', 'INVALID_PARAMETER'],
    [
      'a conflict',
      'wallet',
      409,
      mtn('RESOURCE_ALREADY_EXIST'),
      'permanent',
      'RESOURCE_ALREADY_EXIST',
    ],
  ])('classifies %s', (_label, route, status, body, failureClass, code) => {
    const error = classifyHttpFailure({ route, status, body });

    expect(error).toMatchObject({ failureClass, code, status });
    expect(error instanceof PlatformAuthError).toBe(failureClass === 'platform_auth');
  });

  it('carries Retry-After on a rate-limited failure', () => {
    const error = classifyHttpFailure({
      route: 'wallet',
      status: 429,
      body: undefined,
      retryAfterMs: 3000,
    });

    expect(error.retryAfterMs).toBe(3000);
  });
});

describe('providerCode', () => {
  it.each([
    [{ code: 'NOT_ENOUGH_FUNDS' }, 'NOT_ENOUGH_FUNDS'],
    [{ error: 'login_failed' }, 'LOGIN_FAILED'],
    [{ code: 'call +233241234567 for help' }, 'HTTP_500'],
    [{ code: 42 }, 'HTTP_500'],
    [null, 'HTTP_500'],
    ['text', 'HTTP_500'],
  ])('reads %j as %s, dropping anything that is not a code', (body, code) => {
    expect(providerCode(500, body)).toBe(code);
  });
});

describe('classifyNetworkFailure', () => {
  it.each([
    ['our timeout', new DOMException('timed out', 'TimeoutError'), 'TIMEOUT'],
    [
      'a reset',
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }),
      'NETWORK_ERROR',
    ],
    ['a refused connection', new TypeError('fetch failed'), 'NETWORK_ERROR'],
  ])('classifies %s as transient', (_label, error, code) => {
    expect(classifyNetworkFailure(error)).toMatchObject({ failureClass: 'transient', code });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');

  it.each([
    ['2', 2000],
    [' 0 ', 0],
    ['Wed, 01 May 2024 12:00:05 GMT', 5000],
    ['Wed, 01 May 2024 11:59:00 GMT', 0],
    ['soon', undefined],
    ['-1', undefined],
    [null, undefined],
  ])('reads %j as %j ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});
