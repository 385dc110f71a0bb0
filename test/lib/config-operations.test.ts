/**
 * The operations keys of lib/config.ts: the monitoring thresholds and the sync-interval bounds
 * the adaptive rule, the overrides and `npm run ops -- frequency` all keep to.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config';
import { testContext } from './stack';

type Json = Record<string, unknown>;

const load = (momoSync: Json = {}) => {
  const context = testContext({ momoSync });
  return loadConfig({ tryGetContext: (key: string) => context[key] });
};

const failureOf = (momoSync: Json): string => {
  try {
    load(momoSync);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('loadConfig monitoring and interval bounds', () => {
  it('defaults the thresholds and leaves the alarm topic without a subscriber', () => {
    const config = load();

    expect(config.monitoring).toEqual({
      maxSyncQueueAgeMinutes: 360,
      failureRatePercent: 10,
      failureRateMinSyncs: 20,
      consumerThrottles: 1,
    });
    expect(config.sync.minIntervalMinutes).toBe(60);
    expect(config.sync.maxIntervalMinutes).toBe(10_080);
  });

  it('takes an alarm email address', () => {
    const config = load({ monitoring: { alarmEmail: 'oncall@example.com' } });

    expect(config.monitoring.alarmEmail).toBe('oncall@example.com');
  });

  it.each([
    {
      when: 'the alarm email is not an address',
      momoSync: { monitoring: { alarmEmail: 'oncall' } },
      key: 'momoSync.monitoring.alarmEmail is "oncall"',
      fix: 'one email address',
    },
    {
      when: 'the queue age bound is below five minutes',
      momoSync: { monitoring: { maxSyncQueueAgeMinutes: 2 } },
      key: 'momoSync.monitoring.maxSyncQueueAgeMinutes is 2',
      fix: 'from 5 to 1440',
    },
    {
      when: 'the failure rate is above 100 percent',
      momoSync: { monitoring: { failureRatePercent: 150 } },
      key: 'momoSync.monitoring.failureRatePercent is 150',
      fix: 'from 1 to 100',
    },
    {
      when: 'the throttle threshold is zero',
      momoSync: { monitoring: { consumerThrottles: 0 } },
      key: 'momoSync.monitoring.consumerThrottles is 0',
      fix: 'from 1 to 100000',
    },
    {
      when: 'a monitoring key is misspelt',
      momoSync: { monitoring: { alarmEmails: 'oncall@example.com' } },
      key: 'momoSync.monitoring has unknown key(s) alarmEmails',
      fix: 'fix their spelling',
    },
    {
      when: 'the longest interval is below the shortest',
      momoSync: { sync: { minIntervalMinutes: 600, maxIntervalMinutes: 300 } },
      key: 'momoSync.sync.maxIntervalMinutes is 300 (is below sync.minIntervalMinutes (600))',
      fix: 'no less than sync.minIntervalMinutes',
    },
    {
      when: 'the default interval is outside the bounds',
      momoSync: { sync: { defaultIntervalMinutes: 1440, maxIntervalMinutes: 720 } },
      key: 'momoSync.sync.defaultIntervalMinutes is 1440',
      fix: 'between sync.minIntervalMinutes and sync.maxIntervalMinutes',
    },
  ])('fails if $when, naming the key, the value and the fix', ({ momoSync, key, fix }) => {
    const message = failureOf(momoSync);

    expect(message).toContain(key);
    expect(message).toContain(fix);
  });
});
