import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario, ScenarioError } from '../../local/scenario';

/** A scenario with every key, overridable one by one. */
function makeScenario(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    seed: 7,
    accounts: 20,
    transactionsPerAccount: [1, 10],
    latencyMs: 5,
    rateLimitPerSecond: 50,
    rounds: 3,
    faults: {
      serverErrorRate: 0.05,
      timeoutRate: 0.01,
      rateLimitBurstRate: 0.02,
      accountAuthFailureRate: 0.01,
      platformAuthFailure: false,
      statusChangeRate: 0.3,
      lateArrivalRate: 0.1,
      removalRate: 0.01,
      duplicateAcrossPagesRate: 0.05,
      consumerCrashRate: 0.02,
    },
    ...overrides,
  };
}

describe('parseScenario', () => {
  it('accepts a scenario with every key', () => {
    // Act
    const scenario = parseScenario(makeScenario());

    // Assert
    expect(scenario).toMatchObject({ seed: 7, accounts: 20, rounds: 3 });
    expect(scenario.faults.consumerCrashRate).toBe(0.02);
  });

  it('fills what is left out with defaults', () => {
    // Act
    const scenario = parseScenario({ accounts: 3 });

    // Assert
    expect(scenario).toMatchObject({ accounts: 3, latencyMs: 0, rounds: 1 });
    expect(scenario.faults.serverErrorRate).toBe(0);
  });

  it.each([
    [{ acounts: 3 }, 'scenario: unknown key acounts'],
    [{ faults: { serverErrorRatio: 0.1 } }, 'scenario: faults: unknown key serverErrorRatio'],
    [{ accounts: 0 }, 'scenario: accounts:'],
    [{ faults: { timeoutRate: 1.5 } }, 'scenario: faults.timeoutRate:'],
    [
      { transactionsPerAccount: [9, 2] },
      'transactionsPerAccount: the minimum is above the maximum',
    ],
    [{ faults: { platformAuthFailure: 'yes' } }, 'scenario: faults.platformAuthFailure:'],
  ])('fails for %j, naming the key', (value, message) => {
    // Act
    const parse = () => parseScenario(makeScenario(value));

    // Assert
    expect(parse).toThrow(ScenarioError);
    expect(parse).toThrow(message);
  });
});

describe('loadScenario', () => {
  it('fails on a file that is not JSON, naming the file', async () => {
    // Arrange
    const file = join(await mkdtemp(join(tmpdir(), 'scenario-')), 'broken.json');
    await writeFile(file, '{ accounts: 3 ');

    // Act
    const loading = loadScenario(file);

    // Assert
    await expect(loading).rejects.toThrow(`${file}: not valid JSON`);
  });
});
