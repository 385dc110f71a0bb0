import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, UNSET_JWT_ISSUER } from '../../lib/config';
import { testContext } from './stack';

type Json = Record<string, unknown>;

const load = (api: Json) => {
  const context = testContext({ momoSync: { api } });
  return loadConfig({ tryGetContext: (key: string) => context[key] });
};

const failureOf = (api: Json): string => {
  try {
    load(api);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('api configuration', () => {
  it('defaults to an issuer that trusts no token, the app audience and modest limits', () => {
    const config = loadConfig({ tryGetContext: () => undefined });

    expect(config.api).toEqual({
      jwtIssuer: UNSET_JWT_ISSUER,
      jwtAudience: ['momo-sync-app'],
      throttlingRateLimit: 50,
      throttlingBurstLimit: 100,
      manualSyncIntervalSeconds: 300,
      timeoutSeconds: 10,
    });
  });

  it('takes the issuer and audiences of the operator’s identity provider', () => {
    const config = load({
      jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123',
      jwtAudience: ['4s5t6u7v8w9x', 'momo-web'],
    });

    expect(config.api).toMatchObject({
      jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123',
      jwtAudience: ['4s5t6u7v8w9x', 'momo-web'],
    });
  });

  it.each([
    ['an http issuer', { jwtIssuer: 'http://auth.example.com' }, 'jwtIssuer'],
    ['an issuer with a query', { jwtIssuer: 'https://auth.example.com/?tenant=1' }, 'jwtIssuer'],
    ['an issuer that is no URL', { jwtIssuer: 'auth.example.com' }, 'jwtIssuer'],
    ['no audience', { jwtAudience: [] }, 'jwtAudience'],
    ['an audience with a space', { jwtAudience: ['momo app'] }, 'jwtAudience'],
    ['a rate limit of zero', { throttlingRateLimit: 0 }, 'throttlingRateLimit'],
    ['a burst API Gateway refuses', { throttlingBurstLimit: 5001 }, 'throttlingBurstLimit'],
    [
      'a sync interval under ten seconds',
      { manualSyncIntervalSeconds: 5 },
      'manualSyncIntervalSeconds',
    ],
    ['a timeout API Gateway would not wait for', { timeoutSeconds: 30 }, 'timeoutSeconds'],
  ])('fails if given %s, naming the key, the value and the fix', (_case, api, key) => {
    const message = failureOf(api);
    const [value] = Object.values(api);

    expect(message).toContain(`momoSync.api.${key} is ${JSON.stringify(value)}`);
    expect(message).toMatch(/: use /);
  });
});
