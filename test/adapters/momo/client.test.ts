/**
 * Contract tests: the real MomoClient against the real simulator on loopback. Time is a shared
 * fake clock that the client's injected sleep moves forward, so no test waits for a backoff.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clearMomoTokenCache,
  MomoClient,
  type MomoClientOptions,
  type MomoLogger,
} from '../../../adapters/momo/client';
import { PlatformAuthError, type ProviderError } from '../../../core/errors';
import type { ProviderTransaction, StatementQuery } from '../../../core/model';
import {
  type MomoSimulator,
  type MomoSimulatorOptions,
  startMomoSimulator,
} from '../../../local/momo-sim';

const START = Date.parse('2024-05-01T12:00:00.000Z');
const CREDENTIALS = {
  apiUser: 'contract-user',
  apiKey: 'contract-key-secret',
  subscriptionKey: 'contract-subscription-secret',
};

/** The client timeout of the tests that make the simulator hang. */
const HANG_TIMEOUT_MS = 750;

let nowMs = START;
const clock = (): Date => new Date(nowMs);

let sleeps: number[] = [];
const sleep = async (ms: number): Promise<void> => {
  sleeps.push(ms);
  nowMs += ms;
};

function simulatorOptions(overrides: Partial<MomoSimulatorOptions> = {}): MomoSimulatorOptions {
  return {
    ...CREDENTIALS,
    seed: 'contract',
    clock,
    // Far past HANG_TIMEOUT_MS, so a hanging request always times out on the client first.
    faults: { timeoutHangMs: 3_000 },
    ...overrides,
  };
}

function clientFor(
  simulator: MomoSimulator,
  overrides: Partial<MomoClientOptions> = {},
): MomoClient {
  return new MomoClient({
    baseUrl: simulator.url,
    ...simulator.credentials,
    // Generous, so that a slow loopback answer on a busy machine never adds a retry of its own.
    timeoutMs: 5_000,
    maxAttempts: 4,
    baseDelayMs: 200,
    maxDelayMs: 5_000,
    random: () => 0.5,
    sleep,
    now: () => nowMs,
    ...overrides,
  });
}

/** The window that covers every generated transaction. */
function wholeHistory(walletId: string, pageToken?: string): StatementQuery {
  return {
    walletId,
    from: new Date(START - 90 * 86_400_000).toISOString(),
    to: new Date(START + 86_400_000).toISOString(),
    ...(pageToken ? { pageToken } : {}),
  };
}

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    return error as ProviderError;
  }
  throw new Error('expected the call to fail');
}

let simulator: MomoSimulator;
let walletId: string;

beforeAll(async () => {
  simulator = await startMomoSimulator(simulatorOptions());
  [walletId] = simulator.seedWallets({ count: 1, transactionsPerAccount: [6, 6] }) as [string];
});

afterAll(async () => {
  await simulator.close();
});

beforeEach(() => {
  nowMs = START;
  sleeps = [];
  clearMomoTokenCache();
  simulator.resetFaults();
  simulator.resetStats();
  simulator.setPlatformAuthFailure(false);
});

describe('MomoClient.fetchStatement', () => {
  it('returns the statement normalised: references, minor units, masked parties, UTC times', async () => {
    const id = simulator.addWallet({
      currency: 'XAF',
      utcOffsetMinutes: 60,
      openingBalanceMinor: 100_000,
      transactions: [
        {
          financialTransactionId: '700000001',
          externalId: 'order-17',
          amountMinor: 1500,
          direction: 'DEBIT',
          status: 'SUCCESSFUL',
          partyId: '237670001234',
          description: 'Merchant payment',
          createdAt: '2024-05-01T09:00:00.000Z',
          updatedAt: '2024-05-01T09:00:05.250Z',
        },
      ],
    });

    const page = await clientFor(simulator).fetchStatement(wholeHistory(id));

    expect(page).toEqual({
      transactions: [
        {
          ref: '700000001',
          externalId: 'order-17',
          amountMinor: 1500,
          currency: 'XAF',
          direction: 'DEBIT',
          status: 'SUCCESSFUL',
          counterparty: '****1234',
          description: 'Merchant payment',
          createdAt: '2024-05-01T09:00:00.000Z',
          updatedAt: '2024-05-01T09:00:05.250Z',
        } satisfies ProviderTransaction,
      ],
      balance: { amountMinor: 98_500, currency: 'XAF' },
    });
  });

  it.each([
    ['UTC', 0],
    ['+01:00', 60],
    ['+03:00', 180],
    ['-01:00', -60],
    ['+05:45', 345],
  ])('turns times written in %s into the same UTC instants', async (_label, offset) => {
    const id = simulator.addWallet({ currency: 'GHS', utcOffsetMinutes: offset, transactions: 3 });
    const truth = simulator.truth(id);

    const page = await clientFor(simulator).fetchStatement(wholeHistory(id));

    expect(
      page.transactions.map(({ ref, createdAt, updatedAt }) => ({ ref, createdAt, updatedAt })),
    ).toEqual(
      truth.transactions.map(({ financialTransactionId, createdAt, updatedAt }) => ({
        ref: financialTransactionId,
        createdAt,
        updatedAt,
      })),
    );
    expect(page.transactions.every(({ updatedAt }) => updatedAt.endsWith('Z'))).toBe(true);
  });

  it('converts every amount to the minor units the simulator holds', async () => {
    const truth = simulator.truth(walletId);

    const page = await clientFor(simulator).fetchStatement(wholeHistory(walletId));

    expect(page.transactions.map(({ amountMinor }) => amountMinor)).toEqual(
      truth.transactions.map(({ amountMinor }) => amountMinor),
    );
    expect(page.balance).toEqual({ amountMinor: truth.balanceMinor, currency: truth.currency });
  });

  it('pages through a statement and yields every transaction even when pages overlap', async () => {
    const [id] = simulator.seedWallets({ count: 1, transactionsPerAccount: [23, 23] }) as [string];
    simulator.setFaults({ duplicateAcrossPagesRate: 1 });
    const client = clientFor(simulator, { pageSize: 5 });
    const seen: string[] = [];
    let pages = 0;

    let pageToken: string | undefined;
    do {
      const page = await client.fetchStatement(wholeHistory(id, pageToken));
      seen.push(...page.transactions.map(({ ref }) => ref));
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken);

    const expected = simulator.truth(id).transactions.map((t) => t.financialTransactionId);
    expect(new Set(seen)).toEqual(new Set(expected));
    expect(seen.length).toBeGreaterThan(expected.length);
    expect(pages).toBe(simulator.stats().requests.statement);
  });

  it('fails permanently on a wallet the provider does not know, without retrying', async () => {
    const failure = await failureOf(
      clientFor(simulator).fetchStatement(wholeHistory('no-such-wallet')),
    );

    expect(failure).toMatchObject({
      failureClass: 'permanent',
      code: 'RESOURCE_NOT_FOUND',
      status: 404,
    });
    expect(simulator.stats().requests.statement).toBe(1);
  });

  it('fails permanently on a payload that breaks the contract, without retrying', async () => {
    simulator.injectFaults({ kind: 'malformed_payload' });

    const failure = await failureOf(clientFor(simulator).fetchStatement(wholeHistory(walletId)));

    expect(failure).toMatchObject({ failureClass: 'permanent', code: 'INVALID_PAYLOAD' });
    expect(failure.message).not.toContain('12,34');
    expect(simulator.stats().requests.statement).toBe(1);
  });

  it('fails permanently on a query the provider rejects', async () => {
    const failure = await failureOf(
      clientFor(simulator).fetchStatement({ ...wholeHistory(walletId), pageToken: 'forged' }),
    );

    expect(failure).toMatchObject({
      failureClass: 'permanent',
      code: 'INVALID_PARAMETER',
      status: 400,
    });
  });
});

describe('MomoClient retries', () => {
  it('retries server errors with capped, jittered backoff and then succeeds', async () => {
    simulator.injectFaults(
      { kind: 'server_error', status: 500 },
      { kind: 'server_error', status: 503 },
    );
    let requests = 0;

    const page = await clientFor(simulator).fetchStatement(wholeHistory(walletId), {
      onRequest: () => {
        requests += 1;
      },
    });

    expect(page.transactions).toHaveLength(6);
    // random() = 0.5 of caps 200 and 400.
    expect(sleeps).toEqual([100, 200]);
    expect(requests).toBe(1 + 3);
  });

  it('caps the backoff at maxDelayMs', async () => {
    simulator.injectFaults(
      { kind: 'server_error' },
      { kind: 'server_error' },
      { kind: 'server_error' },
    );
    const client = clientFor(simulator, {
      random: () => 0.999,
      baseDelayMs: 1_000,
      maxDelayMs: 1_500,
    });

    await client.fetchStatement(wholeHistory(walletId));

    expect(sleeps).toHaveLength(3);
    expect(sleeps.every((ms) => ms <= 1_500)).toBe(true);
  });

  it('gives up with a transient error once maxAttempts are spent', async () => {
    simulator.injectFaults(
      { kind: 'server_error', status: 503 },
      { kind: 'server_error', status: 503 },
      { kind: 'server_error', status: 503 },
    );

    const failure = await failureOf(
      clientFor(simulator, { maxAttempts: 3 }).fetchStatement(wholeHistory(walletId)),
    );

    expect(failure).toMatchObject({
      failureClass: 'transient',
      code: 'SERVICE_UNAVAILABLE',
      status: 503,
      sanitisedCode: 'transient:SERVICE_UNAVAILABLE',
    });
    expect(simulator.stats().requests.statement).toBe(3);
  });

  it('stops retrying when the next backoff would end past the deadline', async () => {
    simulator.injectFaults({ kind: 'server_error' }, { kind: 'server_error' });

    const failure = await failureOf(
      clientFor(simulator).fetchStatement(wholeHistory(walletId), { deadline: START + 50 }),
    );

    expect(failure).toMatchObject({ failureClass: 'transient', code: 'INTERNAL_PROCESSING_ERROR' });
    expect(sleeps).toEqual([]);
  });

  it.each([
    ['a request that hangs past the timeout', { kind: 'timeout', afterHang: 'drop' } as const],
    ['a request that hangs and answers late', { kind: 'timeout', afterHang: 'answer' } as const],
    ['a reset connection', { kind: 'reset' } as const],
  ])('retries %s', async (_label, fault) => {
    simulator.injectFaults(fault);

    const client = clientFor(simulator, { timeoutMs: HANG_TIMEOUT_MS });

    const page = await client.fetchStatement(wholeHistory(walletId));

    expect(page.transactions).toHaveLength(6);
    expect(sleeps).toHaveLength(1);
  });

  it.each([
    ['TIMEOUT', { kind: 'timeout' } as const],
    ['NETWORK_ERROR', { kind: 'reset' } as const],
  ])('classifies a request that never answers as transient %s', async (code, fault) => {
    simulator.injectFaults(fault);

    const failure = await failureOf(
      clientFor(simulator, { maxAttempts: 1, timeoutMs: HANG_TIMEOUT_MS }).fetchStatement(
        wholeHistory(walletId),
      ),
    );

    expect(failure).toMatchObject({ failureClass: 'transient', code });
  });

  it('waits out Retry-After on a 429 when it fits before the deadline', async () => {
    simulator.injectFaults({ kind: 'rate_limit', retryAfterSeconds: 2 });

    const page = await clientFor(simulator).fetchStatement(wholeHistory(walletId), {
      deadline: START + 60_000,
    });

    expect(page.transactions).toHaveLength(6);
    expect(sleeps).toEqual([2_000]);
  });

  it('hands a 429 back as rate_limited with retryAfterMs when the wait does not fit', async () => {
    simulator.injectFaults({ kind: 'rate_limit', retryAfterSeconds: 30 });

    const failure = await failureOf(
      clientFor(simulator).fetchStatement(wholeHistory(walletId), { deadline: START + 10_000 }),
    );

    expect(failure).toMatchObject({
      failureClass: 'rate_limited',
      status: 429,
      retryAfterMs: 30_000,
    });
    expect(sleeps).toEqual([]);
  });

  it('honours the token bucket of a rate-limited provider', async () => {
    const limited = await startMomoSimulator(simulatorOptions({ rateLimitPerSecond: 1 }));
    try {
      const [id] = limited.seedWallets({ count: 1, transactionsPerAccount: [2, 2] }) as [string];
      const client = clientFor(limited);

      await client.fetchStatement(wholeHistory(id));
      await client.fetchStatement(wholeHistory(id), { deadline: START + 60_000 });

      expect(limited.stats().rateLimited).toBe(1);
      expect(sleeps).toEqual([1_000]);
    } finally {
      await limited.close();
    }
  });
});

describe('MomoClient pacing', () => {
  /** Fetch through the real one, noting the fake time at which each request starts. */
  function recordingFetch(starts: number[]): typeof fetch {
    return (input, init) => {
      starts.push(nowMs - START);
      return globalThis.fetch(input, init);
    };
  }

  it('starts its requests minIntervalMs apart, the token request included', async () => {
    const starts: number[] = [];
    const client = clientFor(simulator, { minIntervalMs: 400, fetch: recordingFetch(starts) });

    for (let call = 0; call < 3; call += 1) await client.fetchStatement(wholeHistory(walletId));

    expect(starts).toEqual([0, 400, 800, 1_200]);
    expect(sleeps).toEqual([400, 400, 400]);
  });

  it('does not wait when the calls are already further apart', async () => {
    const starts: number[] = [];
    const client = clientFor(simulator, { minIntervalMs: 400, fetch: recordingFetch(starts) });

    await client.fetchStatement(wholeHistory(walletId));
    nowMs += 450;
    await client.fetchStatement(wholeHistory(walletId));
    nowMs += 1_000;
    await client.fetchStatement(wholeHistory(walletId));

    expect(sleeps).toEqual([400]);
    expect(starts).toEqual([0, 400, 850, 1_850]);
  });

  it('queues concurrent callers of one client instead of letting them start together', async () => {
    // A clock that stands still while they wait: each caller's wait shows the turn it was given.
    const client = clientFor(simulator, {
      minIntervalMs: 250,
      sleep: async (ms: number) => {
        sleeps.push(ms);
      },
    });

    await Promise.all([1, 2, 3].map(() => client.fetchStatement(wholeHistory(walletId))));

    // The token request took the first turn; the three statements the next three.
    expect(sleeps.sort((a, b) => a - b)).toEqual([250, 500, 750]);
  });

  it('keeps under the provider rate limit it was sized for, where an unpaced client meets 429s', async () => {
    const limited = await startMomoSimulator(simulatorOptions({ rateLimitPerSecond: 5 }));
    try {
      const [id] = limited.seedWallets({ count: 1, transactionsPerAccount: [2, 2] }) as [string];
      const run = async (options: Partial<MomoClientOptions>) => {
        nowMs = START + 60_000;
        limited.resetStats();
        clearMomoTokenCache();
        const client = clientFor(limited, options);
        for (let call = 0; call < 12; call += 1) {
          await client.fetchStatement(wholeHistory(id), { deadline: nowMs + 60_000 });
        }
        return limited.stats();
      };

      const unpaced = await run({});
      const paced = await run({ minIntervalMs: 200 });

      expect(unpaced.rateLimited).toBeGreaterThan(0);
      expect(paced.rateLimited).toBe(0);
      expect(paced.requests.statement).toBe(12);
    } finally {
      await limited.close();
    }
  });
});

describe('MomoClient failure classes', () => {
  it.each([
    ['revoked', 403, 'LINK_REVOKED'],
    ['expired', 401, 'LINK_EXPIRED'],
  ] as const)(
    'reports a %s wallet link as account_auth without retrying',
    async (reason, status, code) => {
      const [id] = simulator.seedWallets({ count: 1, transactionsPerAccount: [1, 1] }) as [string];
      simulator.revokeLink(id, reason);

      const failure = await failureOf(clientFor(simulator).fetchStatement(wholeHistory(id)));

      expect(failure).toMatchObject({ failureClass: 'account_auth', code, status });
      expect(simulator.stats().requests.statement).toBe(1);
    },
  );

  it('keeps serving other wallets while one link is revoked', async () => {
    const [revoked, healthy] = simulator.seedWallets({
      count: 2,
      transactionsPerAccount: [1, 1],
    }) as [string, string];
    simulator.revokeLink(revoked);
    const client = clientFor(simulator);

    await expect(client.fetchStatement(wholeHistory(revoked))).rejects.toMatchObject({
      failureClass: 'account_auth',
    });
    await expect(client.fetchStatement(wholeHistory(healthy))).resolves.toMatchObject({
      transactions: [expect.objectContaining({ status: expect.any(String) })],
    });
  });

  it('serves a link again once it is restored', async () => {
    const [id] = simulator.seedWallets({ count: 1, transactionsPerAccount: [1, 1] }) as [string];
    simulator.revokeLink(id);
    simulator.restoreLink(id);

    await expect(clientFor(simulator).fetchStatement(wholeHistory(id))).resolves.toBeDefined();
  });

  it('raises PlatformAuthError when the token endpoint rejects the platform', async () => {
    simulator.setPlatformAuthFailure(true);

    const failure = await failureOf(clientFor(simulator).fetchStatement(wholeHistory(walletId)));

    expect(failure).toBeInstanceOf(PlatformAuthError);
    expect(failure).toMatchObject({ code: 'INVALID_SUBSCRIPTION_KEY', status: 401 });
    expect(simulator.stats().requests).toMatchObject({ token: 1, statement: 0 });
  });

  it('raises PlatformAuthError when the subscription is rejected with a cached token', async () => {
    const client = clientFor(simulator);
    await client.fetchStatement(wholeHistory(walletId));
    simulator.setPlatformAuthFailure(true);

    const failure = await failureOf(client.fetchStatement(wholeHistory(walletId)));

    expect(failure).toBeInstanceOf(PlatformAuthError);
    expect(failure).toMatchObject({
      failureClass: 'platform_auth',
      code: 'INVALID_SUBSCRIPTION_KEY',
    });
  });

  it.each([
    ['a wrong API key', { apiKey: 'not-the-key' }, 'LOGIN_FAILED'],
    ['a wrong subscription key', { subscriptionKey: 'not-the-key' }, 'INVALID_SUBSCRIPTION_KEY'],
    [
      'a wrong target environment',
      { targetEnvironment: 'mtnghana' },
      'NOT_ALLOWED_TARGET_ENVIRONMENT',
    ],
  ])('raises PlatformAuthError for %s', async (_label, overrides, code) => {
    const failure = await failureOf(
      clientFor(simulator, overrides).fetchStatement(wholeHistory(walletId)),
    );

    expect(failure).toBeInstanceOf(PlatformAuthError);
    expect(failure.code).toBe(code);
  });
});

describe('MomoClient platform token', () => {
  it('reuses one token across calls and client instances', async () => {
    await clientFor(simulator).fetchStatement(wholeHistory(walletId));
    await clientFor(simulator).fetchStatement(wholeHistory(walletId));
    await clientFor(simulator).fetchStatement(wholeHistory(walletId));

    expect(simulator.stats()).toMatchObject({
      tokensIssued: 1,
      requests: { token: 1, statement: 3 },
    });
  });

  it('fetches one token for concurrent callers', async () => {
    const client = clientFor(simulator);

    await Promise.all(
      Array.from({ length: 5 }, () => client.fetchStatement(wholeHistory(walletId))),
    );

    expect(simulator.stats().tokensIssued).toBe(1);
  });

  it.each([
    [54, 1],
    [56, 2],
    [61, 2],
  ])('after %i minutes of a one-hour token, has asked for %i tokens', async (minutes, issued) => {
    const client = clientFor(simulator);
    await client.fetchStatement(wholeHistory(walletId));
    nowMs += minutes * 60_000;

    await client.fetchStatement(wholeHistory(walletId));

    expect(simulator.stats().tokensIssued).toBe(issued);
  });

  it('refreshes the token once and retries when the provider refuses it', async () => {
    const client = clientFor(simulator);
    await client.fetchStatement(wholeHistory(walletId));
    simulator.expireTokens();

    const page = await client.fetchStatement(wholeHistory(walletId));

    expect(page.transactions).toHaveLength(6);
    expect(simulator.stats()).toMatchObject({ tokensIssued: 2, requests: { statement: 3 } });
    expect(sleeps).toEqual([]);
  });

  it('retries a token endpoint that fails transiently', async () => {
    simulator.injectFaults({ kind: 'server_error', route: 'token' });

    await clientFor(simulator).fetchStatement(wholeHistory(walletId));

    expect(simulator.stats().requests.token).toBe(2);
    expect(sleeps).toHaveLength(1);
  });

  it('counts every HTTP request, token requests included', async () => {
    simulator.injectFaults({ kind: 'server_error' });
    let requests = 0;
    const onRequest = (): void => {
      requests += 1;
    };

    await clientFor(simulator).fetchStatement(wholeHistory(walletId), { onRequest });
    await clientFor(simulator).fetchStatement(wholeHistory(walletId), { onRequest });

    const { token, statement } = simulator.stats().requests;
    expect(requests).toBe(token + statement);
    expect(requests).toBe(4);
  });
});

describe('MomoClient logging', () => {
  it('logs no token, key, phone number or payload', async () => {
    const lines: unknown[][] = [];
    const record =
      (level: string) =>
      (...args: unknown[]): void => {
        lines.push([level, ...args]);
      };
    const logger: MomoLogger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const tokens: string[] = [];
    const spyingFetch: typeof fetch = (input, init) => {
      const authorization = new Headers(init?.headers).get('authorization') ?? '';
      tokens.push(authorization.replace(/^(Bearer|Basic) /, ''));
      return fetch(input, init);
    };
    const client = clientFor(simulator, { logger, fetch: spyingFetch });
    simulator.injectFaults({ kind: 'server_error' }, { kind: 'rate_limit', retryAfterSeconds: 1 });
    await client.fetchStatement(wholeHistory(walletId), { deadline: START + 60_000 });
    simulator.expireTokens();
    await client.fetchStatement(wholeHistory(walletId));
    simulator.injectFaults({ kind: 'malformed_payload' });
    await client.fetchStatement(wholeHistory(walletId)).catch(() => undefined);

    const logged = JSON.stringify(lines);
    const secrets = [
      ...tokens,
      CREDENTIALS.apiKey,
      CREDENTIALS.subscriptionKey,
      ...simulator.truth(walletId).transactions.map(({ partyId }) => partyId),
      simulator.truth(walletId).msisdn,
    ];
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const secret of secrets) expect(logged).not.toContain(secret);
    expect(logged).not.toContain('availableBalance');
  });

  it("takes the service's Powertools Logger as it is", async () => {
    const logger: MomoLogger = new Logger({ serviceName: 'momo-client-test' });
    simulator.injectFaults({ kind: 'server_error' });

    const page = await clientFor(simulator, { logger }).fetchStatement(wholeHistory(walletId));

    expect(page.transactions).toHaveLength(6);
  });
});
