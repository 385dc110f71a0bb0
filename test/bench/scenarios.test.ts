import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseChaosOptions, UsageError } from '../../bench/chaos';
import { loadScenario, parseScenario, type Scenario, ScenarioError } from '../../local/scenario';

const SCENARIOS = fileURLToPath(new URL('../../bench/scenarios', import.meta.url));
const shipped = (await readdir(SCENARIOS)).filter((name) => name.endsWith('.json')).sort();

const load = (name: string): Promise<Scenario> => loadScenario(join(SCENARIOS, name));

/** The rate faults; `platformAuthFailure` stops the whole fleet and has a scenario of its own. */
const RATE_FAULTS = [
  'serverErrorRate',
  'timeoutRate',
  'rateLimitBurstRate',
  'accountAuthFailureRate',
  'statusChangeRate',
  'lateArrivalRate',
  'removalRate',
  'duplicateAcrossPagesRate',
  'consumerCrashRate',
] as const;

describe('the shipped chaos scenarios', () => {
  it('include the four the documentation names', () => {
    expect(shipped).toEqual(
      expect.arrayContaining([
        'smoke.json',
        'faults.json',
        'auth-expiry.json',
        'platform-outage.json',
      ]),
    );
  });

  it.each(shipped)(
    '%s is a valid scenario with every key spelled out or defaulted',
    async (name) => {
      // Act
      const scenario = await load(name);

      // Assert
      expect(scenario.accounts).toBeGreaterThan(0);
      expect(Object.keys(scenario.faults)).toEqual(expect.arrayContaining([...RATE_FAULTS]));
    },
  );

  it('smoke.json stays small enough for CI and still turns on every rate fault but timeouts', async () => {
    const scenario = await load('smoke.json');

    expect(scenario.accounts).toBeLessThanOrEqual(20);
    expect(scenario.faults.platformAuthFailure).toBe(false);
    const off = RATE_FAULTS.filter((fault) => scenario.faults[fault] === 0);
    // A timeout costs the client's whole timeout; faults.json covers it.
    expect(off).toEqual(['timeoutRate']);
  });

  it('faults.json turns on every rate fault', async () => {
    const scenario = await load('faults.json');

    expect(RATE_FAULTS.filter((fault) => scenario.faults[fault] === 0)).toEqual([]);
  });

  it.each([
    ['auth-expiry.json', (s: Scenario) => s.faults.accountAuthFailureRate > 0],
    ['platform-outage.json', (s: Scenario) => s.faults.platformAuthFailure],
  ])('%s turns on the failure it is named after', async (name, hasIt) => {
    expect(hasIt(await load(name))).toBe(true);
  });
});

describe('the keys a soak adds to a scenario', () => {
  it('defaults pageSize, newTransactionsPerRound and manualSyncRate', () => {
    // Act
    const scenario = parseScenario({});

    // Assert
    expect(scenario).toMatchObject({
      pageSize: 100,
      newTransactionsPerRound: [0, 3],
      manualSyncRate: 0,
    });
  });

  it.each([
    [{ pageSize: 0 }, 'pageSize: Too small: expected number to be >=1 (got 0)'],
    [{ pageSize: 2.5 }, 'pageSize:'],
    [{ manualSyncRate: 1.5 }, 'manualSyncRate: Too big: expected number to be <=1 (got 1.5)'],
    [
      { newTransactionsPerRound: [4, 1] },
      'newTransactionsPerRound: the minimum is above the maximum (got [4,1])',
    ],
    [{ newTransactionsPerRound: [1] }, 'newTransactionsPerRound:'],
  ])('refuses %j, naming the key and the value', (value, message) => {
    // Act
    const parse = () => parseScenario(value);

    // Assert
    expect(parse).toThrow(ScenarioError);
    expect(parse).toThrow(message);
  });
});

describe('parseChaosOptions', () => {
  it('reads the scenario, --json and the log level', () => {
    expect(parseChaosOptions(['--scenario', 'x.json', '--json', '--log-level', 'debug'])).toEqual({
      scenarioFile: 'x.json',
      json: true,
      logLevel: 'DEBUG',
    });
  });

  it.each([
    [[], '--scenario FILE is required'],
    [['--scenario', 'x.json', '--log-level', 'LOUD'], '--log-level LOUD is not one of'],
    [['--scenario', 'x.json', '--rounds', '3'], "Unknown option '--rounds'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseChaosOptions(argv)).toThrow(UsageError);
    expect(() => parseChaosOptions(argv)).toThrow(message);
  });
});
