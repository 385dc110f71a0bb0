/**
 * The client's `onRetry` hook, which the consumer's ProviderErrors and RateLimitWaits metrics
 * count from: the real client against the real simulator, time moved by the injected sleep.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearMomoTokenCache, MomoClient } from '../../../adapters/momo/client';
import type { RetryInfo } from '../../../core/ports';
import { type MomoSimulator, startMomoSimulator } from '../../../local/momo-sim';

const START = Date.parse('2024-05-01T12:00:00.000Z');
let nowMs = START;

let simulator: MomoSimulator;
let walletId: string;

const clientFor = (sim: MomoSimulator) =>
  new MomoClient({
    baseUrl: sim.url,
    ...sim.credentials,
    // Generous: a cold loopback request must never time out and add a retry of its own.
    timeoutMs: 5_000,
    maxAttempts: 4,
    baseDelayMs: 200,
    random: () => 0.5,
    sleep: async (ms) => {
      nowMs += ms;
    },
    now: () => nowMs,
  });

const wholeHistory = () => ({
  walletId,
  from: new Date(START - 90 * 86_400_000).toISOString(),
  to: new Date(START + 86_400_000).toISOString(),
});

beforeAll(async () => {
  simulator = await startMomoSimulator({
    apiUser: 'hook-user',
    apiKey: 'hook-key',
    subscriptionKey: 'hook-subscription',
    seed: 'retry-hook',
    clock: () => new Date(nowMs),
  });
  [walletId] = simulator.seedWallets({ count: 1, transactionsPerAccount: [3, 3] }) as [string];
});

afterAll(async () => {
  await simulator.close();
});

beforeEach(() => {
  nowMs = START;
  clearMomoTokenCache();
  simulator.resetFaults();
});

describe('MomoClient onRetry', () => {
  it('reports each retried failure with its class and the wait before the next attempt', async () => {
    // Arrange
    simulator.injectFaults(
      { kind: 'server_error', status: 503 },
      { kind: 'rate_limit', retryAfterSeconds: 2 },
    );
    const retries: RetryInfo[] = [];

    // Act
    const page = await clientFor(simulator).fetchStatement(wholeHistory(), {
      deadline: START + 60_000,
      onRetry: (retry) => retries.push(retry),
    });

    // Assert
    expect(page.transactions).toHaveLength(3);
    expect(retries.map((retry) => retry.failureClass)).toEqual(['transient', 'rate_limited']);
    expect(retries[1]?.delayMs).toBe(2_000);
  });

  it('reports nothing when the failure is not retried', async () => {
    simulator.injectFaults({ kind: 'rate_limit', retryAfterSeconds: 30 });
    const retries: RetryInfo[] = [];

    await expect(
      clientFor(simulator).fetchStatement(wholeHistory(), {
        deadline: START + 10_000,
        onRetry: (retry) => retries.push(retry),
      }),
    ).rejects.toMatchObject({ failureClass: 'rate_limited' });

    expect(retries).toEqual([]);
  });
});
