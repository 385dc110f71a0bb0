/**
 * The simulator's own behaviour, spoken to over raw HTTP the way MTN's client libraries do:
 * determinism from the seed, MTN's routes, headers and error bodies, paging, the token bucket,
 * and the world's evolution under advance().
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type MomoSimulator,
  type MomoSimulatorOptions,
  startMomoSimulator,
} from '../../local/momo-sim';

const START = Date.parse('2024-05-01T12:00:00.000Z');
const CREDENTIALS = { apiUser: 'sim-user', apiKey: 'sim-key', subscriptionKey: 'sim-subscription' };
const MINUTE = 60_000;

let nowMs = START;
const clock = (): Date => new Date(nowMs);

function options(overrides: Partial<MomoSimulatorOptions> = {}): MomoSimulatorOptions {
  return { ...CREDENTIALS, seed: 'sim-test', clock, ...overrides };
}

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(
  simulator: MomoSimulator,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
): Promise<Answer> {
  const response = await fetch(`${simulator.url}${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

function basic(user: string, key: string): string {
  return `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;
}

async function token(simulator: MomoSimulator): Promise<string> {
  const answer = await call(simulator, 'POST', '/collection/token/', {
    authorization: basic(CREDENTIALS.apiUser, CREDENTIALS.apiKey),
    'ocp-apim-subscription-key': CREDENTIALS.subscriptionKey,
  });
  return answer.body.access_token as string;
}

async function apiHeaders(simulator: MomoSimulator): Promise<Record<string, string>> {
  return {
    authorization: `Bearer ${await token(simulator)}`,
    'ocp-apim-subscription-key': CREDENTIALS.subscriptionKey,
    'x-target-environment': 'sandbox',
  };
}

function statementPath(walletId: string, query: Record<string, string> = {}): string {
  const search = new URLSearchParams({
    from: new Date(START - 60 * 86_400_000).toISOString(),
    to: new Date(START + 86_400_000).toISOString(),
    ...query,
  });
  return `/collection/v1_0/wallets/${walletId}/statement?${search}`;
}

type WireEntry = { financialTransactionId: string; status: string; updatedAt: string };

async function wholeStatement(
  simulator: MomoSimulator,
  walletId: string,
  query: Record<string, string> = {},
): Promise<WireEntry[]> {
  const headers = await apiHeaders(simulator);
  const entries: WireEntry[] = [];
  let pageToken: string | undefined;
  do {
    const answer = await call(
      simulator,
      'GET',
      statementPath(walletId, { ...query, ...(pageToken ? { pageToken } : {}) }),
      headers,
    );
    expect(answer.status).toBe(200);
    entries.push(...(answer.body.transactions as WireEntry[]));
    pageToken = answer.body.nextPageToken as string | undefined;
  } while (pageToken);
  return entries;
}

let simulator: MomoSimulator;
let walletId: string;

beforeAll(async () => {
  simulator = await startMomoSimulator(options({ pageSize: 4 }));
  [walletId] = simulator.seedWallets({ count: 1, transactionsPerAccount: [10, 10] }) as [string];
});

afterAll(async () => {
  await simulator.close();
});

beforeEach(() => {
  nowMs = START;
  simulator.resetFaults();
  simulator.resetStats();
  simulator.setPlatformAuthFailure(false);
});

describe('determinism', () => {
  it('builds the same wallets and histories from the same seed', async () => {
    const [first, second] = await Promise.all([
      startMomoSimulator(options({ seed: 42 })),
      startMomoSimulator(options({ seed: 42 })),
    ]);
    try {
      const firstIds = first.seedWallets({ count: 3, transactionsPerAccount: [5, 15] });
      const secondIds = second.seedWallets({ count: 3, transactionsPerAccount: [5, 15] });
      first.advance({ statusChangeRate: 0.5, lateArrivalRate: 1, removalRate: 1 });
      second.advance({ statusChangeRate: 0.5, lateArrivalRate: 1, removalRate: 1 });

      expect(secondIds).toEqual(firstIds);
      for (const id of firstIds) expect(second.truth(id)).toEqual(first.truth(id));
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('builds different wallets from a different seed', async () => {
    const other = await startMomoSimulator(options({ seed: 'another seed' }));
    try {
      const [otherId] = other.seedWallets({ count: 1, transactionsPerAccount: [10, 10] }) as [
        string,
      ];

      expect(otherId).not.toBe(walletId);
      expect(other.truth(otherId).transactions).not.toEqual(simulator.truth(walletId).transactions);
    } finally {
      await other.close();
    }
  });

  it('draws faults from the seed, so a run repeats', async () => {
    const outcomes = async (): Promise<number[]> => {
      const faulty = await startMomoSimulator(options({ faults: { serverErrorRate: 0.5 } }));
      try {
        const [id] = faulty.seedWallets({ count: 1, transactionsPerAccount: [1, 1] }) as [string];
        const headers = await apiHeaders(faulty);
        const statuses: number[] = [];
        for (let index = 0; index < 12; index += 1) {
          statuses.push((await call(faulty, 'GET', statementPath(id), headers)).status);
        }
        return statuses;
      } finally {
        await faulty.close();
      }
    };

    const first = await outcomes();

    expect(await outcomes()).toEqual(first);
    expect(first.some((status) => status !== 200)).toBe(true);
    expect(first).toContain(200);
  });

  it('gives each seeded wallet a uuid id and history within the asked range', () => {
    const ids = simulator.seedWallets({
      count: 4,
      transactionsPerAccount: [2, 5],
      currency: 'UGX',
    });

    for (const id of ids) {
      const truth = simulator.truth(id);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(truth.currency).toBe('UGX');
      expect(truth.msisdn).toMatch(/^256\d{9}$/);
      expect(truth.transactions.length).toBeGreaterThanOrEqual(2);
      expect(truth.transactions.length).toBeLessThanOrEqual(5);
      expect(truth.balanceMinor).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("MTN's routes", () => {
  it('issues a token for the right Basic credentials and subscription key', async () => {
    const answer = await call(simulator, 'POST', '/collection/token/', {
      authorization: basic(CREDENTIALS.apiUser, CREDENTIALS.apiKey),
      'ocp-apim-subscription-key': CREDENTIALS.subscriptionKey,
    });

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      access_token: expect.any(String),
      token_type: 'access_token',
      expires_in: 3600,
    });
  });

  it.each([
    [
      'a wrong API key',
      {
        authorization: basic(CREDENTIALS.apiUser, 'wrong'),
        'ocp-apim-subscription-key': CREDENTIALS.subscriptionKey,
      },
      { error: 'login_failed' },
    ],
    [
      'a wrong subscription key',
      {
        authorization: basic(CREDENTIALS.apiUser, CREDENTIALS.apiKey),
        'ocp-apim-subscription-key': 'wrong',
      },
      { code: 'INVALID_SUBSCRIPTION_KEY', message: expect.any(String) },
    ],
  ])('refuses a token for %s with a 401', async (_label, headers, body) => {
    const answer = await call(simulator, 'POST', '/collection/token/', headers);

    expect(answer.status).toBe(401);
    expect(answer.body).toEqual(body);
  });

  it('answers the account balance', async () => {
    const answer = await call(
      simulator,
      'GET',
      '/collection/v1_0/account/balance',
      await apiHeaders(simulator),
    );

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    expect(answer.body).toEqual({
      availableBalance: expect.stringMatching(/^\d+\.\d{2}$/),
      currency: 'EUR',
    });
  });

  it.each([
    ['a wallet holder', () => simulator.truth(walletId).msisdn, true],
    ['a stranger', () => '233000000000', false],
  ])('tells whether %s is an active account holder', async (_label, msisdn, result) => {
    const answer = await call(
      simulator,
      'GET',
      `/collection/v1_0/accountholder/msisdn/${msisdn()}/active`,
      await apiHeaders(simulator),
    );

    expect(answer).toMatchObject({ status: 200, body: { result } });
  });

  it.each([
    ['no bearer token', { authorization: '' }, 401, 'INVALID_TOKEN'],
    ['an unknown bearer token', { authorization: 'Bearer forged' }, 401, 'INVALID_TOKEN'],
    [
      'a wrong target environment',
      { 'x-target-environment': 'mtnghana' },
      500,
      'NOT_ALLOWED_TARGET_ENVIRONMENT',
    ],
    [
      'a wrong subscription key',
      { 'ocp-apim-subscription-key': 'wrong' },
      401,
      'INVALID_SUBSCRIPTION_KEY',
    ],
  ])('answers a call with %s with MTN status and code', async (_label, override, status, code) => {
    const headers = { ...(await apiHeaders(simulator)), ...override };

    const answer = await call(simulator, 'GET', '/collection/v1_0/account/balance', headers);

    expect(answer).toMatchObject({ status, body: { code, message: expect.any(String) } });
  });

  it('refuses a token once it has expired', async () => {
    const headers = await apiHeaders(simulator);
    nowMs += 3600 * 1000;

    const answer = await call(simulator, 'GET', '/collection/v1_0/account/balance', headers);

    expect(answer).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN' } });
  });

  it('answers an unknown route with 404 RESOURCE_NOT_FOUND', async () => {
    const answer = await call(
      simulator,
      'GET',
      '/collection/v1_0/nothing',
      await apiHeaders(simulator),
    );

    expect(answer).toMatchObject({ status: 404, body: { code: 'RESOURCE_NOT_FOUND' } });
  });

  it('rejects every route while the platform credentials are failing', async () => {
    const headers = await apiHeaders(simulator);
    simulator.setPlatformAuthFailure(true);

    const balance = await call(simulator, 'GET', '/collection/v1_0/account/balance', headers);
    const issued = await call(simulator, 'POST', '/collection/token/', headers);

    expect(balance).toMatchObject({ status: 401, body: { code: 'INVALID_SUBSCRIPTION_KEY' } });
    expect(issued).toMatchObject({ status: 401, body: { code: 'INVALID_SUBSCRIPTION_KEY' } });
  });
});

describe('wallet statement', () => {
  it('pages through every visible transaction in updatedAt order', async () => {
    const entries = await wholeStatement(simulator, walletId);

    const truth = simulator.truth(walletId).transactions;
    expect(entries.map((entry) => entry.financialTransactionId)).toEqual(
      truth.map((transaction) => transaction.financialTransactionId),
    );
    expect(simulator.stats().requests.statement).toBe(3);
  });

  it('filters on updatedAt in [from, to)', async () => {
    const truth = simulator.truth(walletId).transactions;
    const from = truth[2]?.updatedAt as string;
    const to = truth[6]?.updatedAt as string;

    const entries = await wholeStatement(simulator, walletId, { from, to });

    expect(entries.map((entry) => entry.financialTransactionId)).toEqual(
      truth.slice(2, 6).map((transaction) => transaction.financialTransactionId),
    );
  });

  it('writes times in the wallet market offset', async () => {
    const id = simulator.addWallet({ currency: 'XAF', transactions: 2 });

    const entries = await wholeStatement(simulator, id);

    for (const entry of entries) expect(entry.updatedAt).toMatch(/\.\d{3}\+01:00$/);
  });

  it('repeats the last entry of a page on the next when pages overlap', async () => {
    simulator.setFaults({ duplicateAcrossPagesRate: 1 });

    const entries = await wholeStatement(simulator, walletId);

    const references = entries.map((entry) => entry.financialTransactionId);
    expect(new Set(references).size).toBe(10);
    expect(references.length).toBeGreaterThan(10);
    expect(simulator.stats().faults.duplicate_across_pages).toBeGreaterThan(0);
  });

  it.each([
    ['an unknown wallet', () => 'no-such-wallet', {}, 404, 'RESOURCE_NOT_FOUND'],
    [
      'a time without an offset',
      () => walletId,
      { from: '2024-05-01T00:00:00' },
      400,
      'INVALID_PARAMETER',
    ],
    [
      'from after to',
      () => walletId,
      { from: '2024-06-01T00:00:00Z', to: '2024-05-01T00:00:00Z' },
      400,
      'INVALID_PARAMETER',
    ],
    ['a limit of zero', () => walletId, { limit: '0' }, 400, 'INVALID_PARAMETER'],
    ['a forged page token', () => walletId, { pageToken: 'forged' }, 400, 'INVALID_PARAMETER'],
  ])('answers %s with %i %s', async (_label, wallet, query, status, code) => {
    const answer = await call(
      simulator,
      'GET',
      statementPath(wallet(), query),
      await apiHeaders(simulator),
    );

    expect(answer).toMatchObject({ status, body: { code, message: expect.any(String) } });
  });

  it('refuses a page token issued for another window', async () => {
    const headers = await apiHeaders(simulator);
    const first = await call(simulator, 'GET', statementPath(walletId), headers);

    const answer = await call(
      simulator,
      'GET',
      statementPath(walletId, {
        from: '2024-04-01T00:00:00Z',
        pageToken: first.body.nextPageToken as string,
      }),
      headers,
    );

    expect(answer).toMatchObject({ status: 400, body: { code: 'INVALID_PARAMETER' } });
  });

  it.each([
    ['revoked', 403, 'LINK_REVOKED'],
    ['expired', 401, 'LINK_EXPIRED'],
  ] as const)('answers a %s link with %i %s on that wallet only', async (reason, status, code) => {
    const [affected, other] = simulator.seedWallets({
      count: 2,
      transactionsPerAccount: [1, 1],
    }) as [string, string];
    const headers = await apiHeaders(simulator);
    simulator.revokeLink(affected, reason);

    const refused = await call(simulator, 'GET', statementPath(affected), headers);
    const served = await call(simulator, 'GET', statementPath(other), headers);
    const balance = await call(simulator, 'GET', '/collection/v1_0/account/balance', headers);
    simulator.restoreLink(affected);
    const restored = await call(simulator, 'GET', statementPath(affected), headers);

    expect(refused).toMatchObject({ status, body: { code } });
    expect(simulator.truth(affected).link).toBe('active');
    expect([served.status, balance.status, restored.status]).toEqual([200, 200, 200]);
  });
});

describe('faults', () => {
  it('answers 429 with Retry-After once the token bucket is empty, and serves again after it refills', async () => {
    const limited = await startMomoSimulator(options({ rateLimitPerSecond: 2 }));
    try {
      const headers = await apiHeaders(limited);
      const path = '/collection/v1_0/account/balance';

      const statuses = [];
      for (let index = 0; index < 3; index += 1)
        statuses.push(await call(limited, 'GET', path, headers));
      const tokenWhileLimited = await token(limited);
      nowMs += 1_000;
      const refilled = await call(limited, 'GET', path, headers);

      expect(statuses.map((answer) => answer.status)).toEqual([200, 200, 429]);
      expect(statuses[2]?.headers.get('retry-after')).toBe('1');
      expect(statuses[2]?.body).toEqual({ code: 'TOO_MANY_REQUESTS', message: expect.any(String) });
      expect(tokenWhileLimited).toEqual(expect.any(String));
      expect(refilled.status).toBe(200);
      expect(limited.stats().rateLimited).toBe(1);
    } finally {
      await limited.close();
    }
  });

  it.each([
    [{ kind: 'server_error', status: 500 } as const, 500, 'INTERNAL_PROCESSING_ERROR'],
    [{ kind: 'server_error', status: 503 } as const, 503, 'SERVICE_UNAVAILABLE'],
    [{ kind: 'rate_limit', retryAfterSeconds: 7 } as const, 429, 'TOO_MANY_REQUESTS'],
  ])('answers a scripted %j with %i %s, once', async (fault, status, code) => {
    const headers = await apiHeaders(simulator);
    simulator.injectFaults(fault);

    const faulted = await call(simulator, 'GET', statementPath(walletId), headers);
    const next = await call(simulator, 'GET', statementPath(walletId), headers);

    expect(faulted).toMatchObject({ status, body: { code } });
    expect(next.status).toBe(200);
    expect(simulator.stats().faults[fault.kind]).toBe(1);
  });

  it('drops the connection on a reset', async () => {
    const headers = await apiHeaders(simulator);
    simulator.injectFaults({ kind: 'reset' });

    await expect(call(simulator, 'GET', statementPath(walletId), headers)).rejects.toThrow();
    expect(simulator.stats().faults.reset).toBe(1);
  });

  it('corrupts the balance of a malformed statement', async () => {
    const headers = await apiHeaders(simulator);
    simulator.injectFaults({ kind: 'malformed_payload' });

    const answer = await call(simulator, 'GET', statementPath(walletId), headers);

    expect(answer.body.balance).toMatchObject({ availableBalance: '12,34' });
  });

  it('leaves the token endpoint out of drawn faults', async () => {
    simulator.setFaults({ serverErrorRate: 1 });

    const issued = await token(simulator);

    expect(issued).toEqual(expect.any(String));
    expect(simulator.stats().faults.server_error).toBe(0);
  });
});

describe('advance', () => {
  async function freshWorld(): Promise<{ world: MomoSimulator; id: string }> {
    const world = await startMomoSimulator(options({ seed: 'advance' }));
    const [id] = world.seedWallets({ count: 1, transactionsPerAccount: [30, 30] }) as [string];
    return { world, id };
  }

  it('settles pending transactions and stamps the change at the clock', async () => {
    const { world, id } = await freshWorld();
    try {
      const pending = world.addWallet({
        transactions: [
          {
            amountMinor: 500,
            direction: 'CREDIT',
            status: 'PENDING',
            createdAt: new Date(START - MINUTE),
          },
        ],
      });
      nowMs += 10 * MINUTE;

      const summary = world.advance({
        statusChangeRate: 1,
        newTransactions: [0, 0],
        walletIds: [pending, id],
      });

      const [settled] = world.truth(pending).transactions;
      expect(settled?.status).toMatch(/^(SUCCESSFUL|FAILED)$/);
      expect(settled?.updatedAt).toBe(new Date(nowMs).toISOString());
      expect(summary.statusChanged).toBeGreaterThanOrEqual(1);
      expect(world.truth(id).transactions.some((t) => t.status === 'PENDING')).toBe(false);
    } finally {
      await world.close();
    }
  });

  it('adds new transactions stamped at the clock', async () => {
    const { world, id } = await freshWorld();
    try {
      nowMs += 10 * MINUTE;

      const summary = world.advance({ newTransactions: [3, 3], statusChangeRate: 0 });

      const stampedNow = world
        .truth(id)
        .transactions.filter((t) => t.createdAt === new Date(nowMs).toISOString());
      expect(summary.created).toBe(3);
      expect(stampedNow).toHaveLength(3);
    } finally {
      await world.close();
    }
  });

  it('adds late arrivals stamped in the recent past', async () => {
    const { world, id } = await freshWorld();
    try {
      nowMs += 60 * MINUTE;
      const before = new Set(world.truth(id).transactions.map((t) => t.financialTransactionId));

      const summary = world.advance({
        newTransactions: [0, 0],
        statusChangeRate: 0,
        lateArrivalRate: 1,
        lateArrivalMaxAgeMs: 5 * MINUTE,
      });

      const [late] = world
        .truth(id)
        .transactions.filter((t) => !before.has(t.financialTransactionId));
      const age = nowMs - Date.parse(late?.updatedAt as string);
      expect(summary.lateArrivals).toBe(1);
      expect(age).toBeGreaterThan(0);
      expect(age).toBeLessThanOrEqual(5 * MINUTE);
    } finally {
      await world.close();
    }
  });

  it('removes a recent transaction from statements but keeps it in the truth', async () => {
    const { world, id } = await freshWorld();
    try {
      nowMs += MINUTE;
      world.advance({ newTransactions: [2, 2], statusChangeRate: 0 });
      nowMs += MINUTE;

      const summary = world.advance({
        newTransactions: [0, 0],
        statusChangeRate: 0,
        removalRate: 1,
      });

      const removed = world.truth(id).transactions.filter((t) => t.removed);
      const listed = (await wholeStatement(world, id)).map((entry) => entry.financialTransactionId);
      expect(summary.removed).toBe(1);
      expect(removed).toHaveLength(1);
      expect(removed[0]?.removedAt).toBe(new Date(nowMs).toISOString());
      expect(listed).not.toContain(removed[0]?.financialTransactionId);
      expect(listed).toHaveLength(world.truth(id).transactions.length - 1);
    } finally {
      await world.close();
    }
  });

  it('keeps the balance equal to the opening balance plus settled, visible movements', async () => {
    const { world, id } = await freshWorld();
    try {
      const opening = world.truth(id).balanceMinor;
      const settledSum = (): number =>
        world
          .truth(id)
          .transactions.filter((t) => t.status === 'SUCCESSFUL' && !t.removed)
          .reduce((sum, t) => sum + (t.direction === 'CREDIT' ? t.amountMinor : -t.amountMinor), 0);
      const base = opening - settledSum();

      for (let round = 0; round < 5; round += 1) {
        nowMs += MINUTE;
        world.advance({ lateArrivalRate: 0.5, removalRate: 0.5 });
      }

      expect(world.truth(id).balanceMinor).toBe(base + settledSum());
      expect(world.truth(id).balanceMinor).toBeGreaterThanOrEqual(0);
    } finally {
      await world.close();
    }
  });
});
