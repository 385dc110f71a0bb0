import { describe, expect, it } from 'vitest';
import { ConfigError, isIanaTimeZone, loadConfig } from '../../lib/config';
import { buildStack, testContext } from './stack';

type Json = Record<string, unknown>;

/** A context source over cdk.json's context with `momoSync` overrides and an optional stage. */
const contextOf = (momoSync: Json = {}, stage?: string) => {
  const context = testContext({ momoSync, stage });
  return { tryGetContext: (key: string) => context[key] };
};

const failureOf = (load: () => unknown): string => {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
};

describe('loadConfig', () => {
  it('reads the same values from cdk.json as the documented defaults', () => {
    // Arrange
    const empty = { tryGetContext: () => undefined };

    // Act
    const fromCdkJson = loadConfig(contextOf());
    const defaults = loadConfig(empty);

    // Assert
    expect(fromCdkJson).toEqual(defaults);
    expect(defaults.schedule).toEqual({
      expression: 'cron(0 2 * * ? *)',
      timeZone: 'Africa/Accra',
      retryAttempts: 3,
      maxEventAgeMinutes: 60,
    });
  });

  it('applies the overrides of the stage picked with -c stage', () => {
    const config = loadConfig(contextOf({}, 'prod'));

    expect(config.stage).toBe('prod');
    expect(config.consumer.maximumConcurrency).toBe(50);
    expect(config.encryption).toBe('customer-managed');
    // Keys the stage leaves alone keep the base value.
    expect(config.consumer.batchSize).toBe(10);
    expect(config.schedule.timeZone).toBe('Africa/Accra');
  });

  it('fails if the stage has no entry, naming the stages there are', () => {
    const message = failureOf(() => loadConfig(contextOf({}, 'staging')));

    expect(message).toContain('stage is "staging"');
    expect(message).toContain('-c stage=dev, -c stage=prod');
  });

  it.each([
    {
      when: 'the time zone is not an IANA zone',
      momoSync: { schedule: { timeZone: 'Africa/Atlantis' } },
      key: 'momoSync.schedule.timeZone is "Africa/Atlantis"',
      fix: 'IANA time zone name',
    },
    {
      when: 'the time zone is spelled in the wrong case',
      momoSync: { schedule: { timeZone: 'africa/accra' } },
      key: 'momoSync.schedule.timeZone is "africa/accra"',
      fix: 'spelled exactly',
    },
    {
      when: 'the time zone is an offset',
      momoSync: { schedule: { timeZone: '+01:00' } },
      key: 'momoSync.schedule.timeZone is "+01:00"',
      fix: 'IANA time zone name',
    },
    {
      when: 'the schedule is a five-field cron',
      momoSync: { schedule: { expression: 'cron(0 2 * * *)' } },
      key: 'momoSync.schedule.expression is "cron(0 2 * * *)"',
      fix: 'cron(min hour day-of-month month day-of-week year)',
    },
    {
      when: 'the maximum concurrency is below 2',
      momoSync: { consumer: { maximumConcurrency: 1 } },
      key: 'momoSync.consumer.maximumConcurrency is 1',
      fix: 'from 2 to 1000',
    },
    {
      when: 'the maximum concurrency is above 1000',
      momoSync: { consumer: { maximumConcurrency: 1001 } },
      key: 'momoSync.consumer.maximumConcurrency is 1001',
      fix: 'from 2 to 1000',
    },
    {
      when: 'the batch size is above ten',
      momoSync: { consumer: { batchSize: 11 } },
      key: 'momoSync.consumer.batchSize is 11',
      fix: 'from 1 to 10',
    },
    {
      when: 'the consumer timeout is given as a string',
      momoSync: { consumer: { timeoutSeconds: '120' } },
      key: 'momoSync.consumer.timeoutSeconds is "120"',
      fix: 'seconds from 30 to 900',
    },
    {
      when: 'the consumer timeout leaves a sync no time before its safety margin',
      momoSync: { consumer: { timeoutSeconds: 15 } },
      key: 'momoSync.consumer.timeoutSeconds is 15',
      fix: 'a sync keeps 20 s back',
    },
    {
      when: 'the log retention is not one CloudWatch allows',
      momoSync: { logRetentionDays: 45 },
      key: 'momoSync.logRetentionDays is 45',
      fix: 'one of CloudWatch Logs',
    },
    {
      when: 'the provider base URL is not https',
      momoSync: { provider: { baseUrl: 'http://momo.example' } },
      key: 'momoSync.provider.baseUrl is "http://momo.example"',
      fix: 'https URL',
    },
    {
      when: 'the target environment is not an MTN one',
      momoSync: { provider: { targetEnvironment: 'production' } },
      key: 'momoSync.provider.targetEnvironment is "production"',
      fix: '"sandbox" or a market',
    },
    {
      when: 'the provider rate limit is zero',
      momoSync: { provider: { rateLimitPerSecond: 0 } },
      key: 'momoSync.provider.rateLimitPerSecond is 0',
      fix: 'positive',
    },
    {
      when: 'there are no scan segments',
      momoSync: { fanOut: { scanSegments: 0 } },
      key: 'momoSync.fanOut.scanSegments is 0',
      fix: 'from 1 to 1000',
    },
    {
      when: 'the lease is shorter than the consumer timeout',
      momoSync: { sync: { leaseSeconds: 60 }, consumer: { timeoutSeconds: 120 } },
      key: 'momoSync.sync.leaseSeconds is 60',
      fix: 'no less than consumer.timeoutSeconds',
    },
    {
      when: 'the backoff cap is below its base',
      momoSync: { sync: { backoffBaseSeconds: 600, backoffCapSeconds: 60 } },
      key: 'momoSync.sync.backoffCapSeconds is 60',
      fix: 'no less than sync.backoffBaseSeconds',
    },
    {
      when: 'the encryption is neither kind',
      momoSync: { encryption: 'none' },
      key: 'momoSync.encryption is "none"',
      fix: '"aws-managed" or "customer-managed"',
    },
  ])('fails if $when, naming the key, the value and the fix', ({ momoSync, key, fix }) => {
    const message = failureOf(() => loadConfig(contextOf(momoSync)));

    expect(message).toContain(key);
    expect(message).toContain(fix);
  });

  it('fails if a key is misspelt, naming the key', () => {
    const message = failureOf(() => loadConfig(contextOf({ consumer: { maxConcurency: 5 } })));

    expect(message).toContain('momoSync.consumer has unknown key(s) maxConcurency');
  });

  it("fails naming the stage's key when the wrong value comes from the stage", () => {
    const context = testContext({
      momoSync: { stages: { load: { consumer: { maximumConcurrency: 5000 } } } },
      stage: 'load',
    });

    const message = failureOf(() => loadConfig({ tryGetContext: (key) => context[key] }));

    expect(message).toContain('momoSync.stages.load.consumer.maximumConcurrency is 5000');
  });

  it('fails synth of the app on a wrong value', () => {
    const message = failureOf(() => buildStack({ momoSync: { consumer: { batchSize: 0 } } }));

    expect(message).toContain('momoSync.consumer.batchSize is 0');
  });
});

describe('isIanaTimeZone', () => {
  it.each([
    ['Africa/Accra', true],
    ['Africa/Kampala', true],
    ['UTC', true],
    ['Africa/Atlantis', false],
    ['africa/accra', false],
    ['GMT+1', false],
    ['', false],
  ])('says %s is %s', (zone, expected) => {
    expect(isIanaTimeZone(zone)).toBe(expected);
  });
});
