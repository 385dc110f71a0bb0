import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, UNSET_ONESIGNAL_APP_ID } from '../../lib/config';
import { testContext } from './stack';

type Json = Record<string, unknown>;

const load = (notifications: Json) => {
  const context = testContext({ momoSync: { notifications } });
  return loadConfig({ tryGetContext: (key: string) => context[key] });
};

const failureOf = (notifications: Json): string => {
  try {
    load(notifications);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('notifications configuration', () => {
  it('defaults to the placeholder app id, the momo-sync secret and the app scheme', () => {
    const config = loadConfig({ tryGetContext: () => undefined });

    expect(config.notifications).toEqual({
      oneSignalAppId: UNSET_ONESIGNAL_APP_ID,
      secretName: 'momo-sync/onesignal',
      appScheme: 'momofinance',
      batchSize: 10,
      maximumConcurrency: 2,
    });
  });

  it('takes an app id, a secret and a scheme of the operator', () => {
    const config = load({
      oneSignalAppId: '5eb5a37e-b458-11e3-ac11-000c2940e62c',
      secretName: 'momo-sync/prod/onesignal',
      appScheme: 'com.example.wallet',
    });

    expect(config.notifications).toMatchObject({
      oneSignalAppId: '5eb5a37e-b458-11e3-ac11-000c2940e62c',
      secretName: 'momo-sync/prod/onesignal',
      appScheme: 'com.example.wallet',
    });
  });

  it.each([
    ['an app id that is not a UUID', { oneSignalAppId: 'my-onesignal-app' }, 'oneSignalAppId'],
    ['a web scheme', { appScheme: 'https' }, 'appScheme'],
    ['a scheme with a colon', { appScheme: 'momo://' }, 'appScheme'],
    ['a scheme with capitals', { appScheme: 'MomoApp' }, 'appScheme'],
    ['a secret name with a space', { secretName: 'momo sync' }, 'secretName'],
    ['a batch of eleven', { batchSize: 11 }, 'batchSize'],
    ['a concurrency Lambda refuses', { maximumConcurrency: 1 }, 'maximumConcurrency'],
  ])('fails if given %s, naming the key, the value and the fix', (_case, notifications, key) => {
    const message = failureOf(notifications);
    const [value] = Object.values(notifications);

    expect(message).toContain(`momoSync.notifications.${key} is ${JSON.stringify(value)}`);
    expect(message).toMatch(/: use /);
  });

  it('fails on an unknown key of the section', () => {
    expect(failureOf({ appId: 'x' })).toContain('momoSync.notifications has unknown key(s) appId');
  });
});
