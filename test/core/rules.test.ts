import { describe, expect, it } from 'vitest';
import {
  advanceCursor,
  backoffDelayMs,
  type FrequencyConfig,
  fetchWindow,
  fingerprint,
  type IntervalSource,
  intervalRule,
  nextActivityScore,
  nextDueAt,
  syncIntervalMinutes,
} from '../../core/rules';
import { makeProviderTx } from '../support/in-memory';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('fetchWindow', () => {
  const config = { overlapMs: HOUR, firstSyncLookbackMs: 30 * DAY };
  const now = new Date('2026-03-10T02:00:00.000Z');

  it.each([
    ['goes back the look-back on a first sync', undefined, '2026-02-08T02:00:00.000Z', true],
    [
      'starts an hour before the cursor',
      '2026-03-09T02:00:00.000Z',
      '2026-03-09T01:00:00.000Z',
      false,
    ],
    [
      'clamps a cursor ahead of the clock to now',
      '2026-03-11T00:00:00.000Z',
      '2026-03-10T01:00:00.000Z',
      false,
    ],
    [
      'reads a cursor with an offset as UTC',
      '2026-03-09T03:00:00.000+01:00',
      '2026-03-09T01:00:00.000Z',
      false,
    ],
  ])('%s', (_name, cursor, from, firstSync) => {
    expect(fetchWindow(cursor, now, config)).toEqual({
      from,
      to: '2026-03-10T02:00:00.000Z',
      firstSync,
    });
  });
});

describe('advanceCursor', () => {
  it.each([
    [undefined, undefined, undefined],
    [undefined, '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ['2026-03-02T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z'],
    ['2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z', '2026-03-02T00:00:00.000Z'],
    ['2026-03-02T00:00:00.000Z', undefined, '2026-03-02T00:00:00.000Z'],
  ])('from %s with a page ending at %s gives %s', (cursor, pageMax, expected) => {
    expect(advanceCursor(cursor, pageMax)).toBe(expected);
  });
});

describe('fingerprint', () => {
  const base = makeProviderTx();

  it.each([
    ['status', { status: 'PENDING' as const }],
    ['amount', { amountMinor: 1501 }],
    ['direction', { direction: 'DEBIT' as const }],
    ['external id', { externalId: 'order-9' }],
    ['description', { description: 'reversal' }],
    ['counterparty', { counterparty: '******9999' }],
  ])('changes when the %s changes', (_field, change) => {
    expect(fingerprint({ ...base, ...change })).not.toBe(fingerprint(base));
  });

  it('ignores a new updatedAt with the same content', () => {
    expect(fingerprint({ ...base, updatedAt: '2026-04-01T00:00:00.000Z' })).toBe(fingerprint(base));
  });

  it('is 16 hex characters', () => {
    expect(fingerprint(base)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('backoffDelayMs', () => {
  const config = { backoffBaseMs: 30_000, backoffCapMs: 6 * HOUR };

  it.each([
    [1, 0.5, 15_000],
    [2, 0.5, 30_000],
    [3, 0.999, 119_880],
    [20, 0.5, 3 * HOUR],
    [200, 0.5, 3 * HOUR],
  ])('after %i failures with jitter %d waits %i ms', (failures, jitter, expected) => {
    expect(backoffDelayMs(failures, config, () => jitter)).toBe(expected);
  });

  it('never waits less than a second, even with zero jitter', () => {
    expect(backoffDelayMs(1, config, () => 0)).toBe(1_000);
  });

  it('stays within the cap for any jitter', () => {
    for (let jitter = 0; jitter < 1; jitter += 0.01) {
      expect(backoffDelayMs(40, config, () => jitter)).toBeLessThan(config.backoffCapMs);
    }
  });
});

describe('syncIntervalMinutes', () => {
  const config: FrequencyConfig = {
    defaultIntervalMinutes: 1440,
    minIntervalMinutes: 60,
    maxIntervalMinutes: 10080,
    adaptive: true,
  };

  const fleet = { ...config, fleetIntervalMinutes: 720 };

  it.each<[string, Parameters<typeof intervalRule>[0], FrequencyConfig, number, IntervalSource]>([
    ['the default for a new account', {}, config, 1440, 'default'],
    ['the owner’s setting', { syncIntervalMinutes: 360 }, config, 360, 'owner setting'],
    [
      'the owner’s setting clamped to the minimum',
      { syncIntervalMinutes: 5 },
      config,
      60,
      'owner setting',
    ],
    [
      'the owner’s setting clamped to the maximum',
      { syncIntervalMinutes: 99_999 },
      config,
      10080,
      'owner setting',
    ],
    [
      'the owner’s setting over the adaptive rule',
      { syncIntervalMinutes: 360, activityScore: 0.01 },
      config,
      360,
      'owner setting',
    ],
    ['the fleet override', {}, fleet, 720, 'fleet override'],
    [
      'the fleet override over the owner’s setting',
      { syncIntervalMinutes: 180 },
      fleet,
      720,
      'fleet override',
    ],
    [
      'an operator’s override of the account',
      { operatorIntervalMinutes: 240 },
      config,
      240,
      'operator override',
    ],
    [
      'an operator’s override over the fleet’s and the owner’s',
      { operatorIntervalMinutes: 240, syncIntervalMinutes: 180 },
      fleet,
      240,
      'operator override',
    ],
    [
      'an operator’s override clamped to the minimum',
      { operatorIntervalMinutes: 1 },
      config,
      60,
      'operator override',
    ],
    ['twice the default for a quiet account', { activityScore: 0.05 }, config, 2880, 'adaptive'],
    ['twice the default just under 0.1', { activityScore: 0.099 }, config, 2880, 'adaptive'],
    ['one and a half from 0.1', { activityScore: 0.1 }, config, 2160, 'adaptive'],
    ['one and a half for a slow account', { activityScore: 0.3 }, config, 2160, 'adaptive'],
    ['the default from 0.5', { activityScore: 0.5 }, config, 1440, 'adaptive'],
    ['the default for an ordinary account', { activityScore: 3 }, config, 1440, 'adaptive'],
    ['half the default from 10', { activityScore: 10 }, config, 720, 'adaptive'],
    ['half the default for a busy account', { activityScore: 12 }, config, 720, 'adaptive'],
    [
      'an adaptive interval clamped to the maximum',
      { activityScore: 0.01 },
      { ...config, maxIntervalMinutes: 2000 },
      2000,
      'adaptive',
    ],
    [
      'the default when adaptive is off',
      { activityScore: 12 },
      { ...config, adaptive: false },
      1440,
      'default',
    ],
  ])('gives %s', (_name, account, frequency, minutes, source) => {
    expect(intervalRule(account, frequency)).toEqual({ minutes, source });
    expect(syncIntervalMinutes(account, frequency)).toBe(minutes);
  });
});

describe('nextActivityScore', () => {
  it.each([
    [undefined, 4, 4],
    [0, 10, 3],
    [10, 0, 7],
    [1, 1, 1],
  ])('from %s after %i changes gives %d', (previous, changes, expected) => {
    expect(nextActivityScore(previous, changes)).toBe(expected);
  });
});

describe('nextDueAt', () => {
  it('adds the interval to the start of the sync', () => {
    expect(nextDueAt(new Date('2026-03-10T02:00:30.000Z'), 1440)).toBe('2026-03-11T02:00:30.000Z');
  });
});
