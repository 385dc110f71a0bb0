/**
 * The engine with its real adapters: DynamoDB on dynalite, the MoMo client against the MoMo
 * simulator. Proves invariants 1, 2 and 4 of ARCHITECTURE.md against the simulator's own truth.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { DynamoSyncRunStore } from '../../adapters/dynamodb/sync-runs';
import { DynamoTransactionStore } from '../../adapters/dynamodb/transactions';
import { clearMomoTokenCache, MomoClient } from '../../adapters/momo/client';
import type { Account, Trigger } from '../../core/model';
import {
  DEFAULT_SYNC_CONFIG,
  type SyncConfig,
  type SyncDeps,
  syncAccount,
} from '../../core/sync-engine';
import { type MomoSimulator, startMomoSimulator } from '../../local/momo-sim';
import { accountFactory, startTestDynamo, type TestDynamo } from '../support/dynamo';
import { ManualClock, RecordingNotifier } from '../support/in-memory';

const START = '2026-03-10T02:00:00.000Z';
const MINUTE = 60_000;
const config: SyncConfig = {
  ...DEFAULT_SYNC_CONFIG,
  overlapMs: 15 * MINUTE,
  firstSyncLookbackMs: 40 * 24 * 60 * MINUTE,
};

let dynamo: TestDynamo;
let sim: MomoSimulator;
let clock: ManualClock;
let accounts: DynamoAccountStore;
let transactions: DynamoTransactionStore;
let runs: DynamoSyncRunStore;
let notifier: RecordingNotifier;
let deps: SyncDeps;

beforeAll(async () => {
  dynamo = await startTestDynamo('sync');
  clock = new ManualClock(new Date(START));
  sim = await startMomoSimulator({
    apiUser: 'user',
    apiKey: 'key',
    subscriptionKey: 'sub',
    seed: 'integration',
    pageSize: 7,
    clock: () => clock.now(),
  });
  accounts = new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts);
  transactions = new DynamoTransactionStore(dynamo.doc, dynamo.tables.transactions);
  runs = new DynamoSyncRunStore(dynamo.doc, dynamo.tables.syncRuns);
});

afterAll(async () => {
  await sim?.close();
  await dynamo?.close();
});

beforeEach(() => {
  clearMomoTokenCache();
  sim.resetFaults();
  sim.setPlatformAuthFailure(false);
  notifier = new RecordingNotifier();
  deps = {
    accounts,
    transactions,
    runs,
    notifier,
    clock,
    random: () => 0.5,
    provider: new MomoClient({
      baseUrl: sim.url,
      ...sim.credentials,
      timeoutMs: 2_000,
      maxAttempts: 3,
      baseDelayMs: 1,
      maxDelayMs: 5,
      pageSize: 7,
    }),
  };
});

async function linkWallet(transactionCount: number): Promise<Account> {
  const walletId = sim.addWallet({ transactions: transactionCount, historyDays: 20 });
  const account = accountFactory({ walletId, dueAt: START });
  await accounts.create(account);
  return account;
}

let attempt = 0;
function sync(
  accountId: string,
  options: { trigger?: Trigger; remainingTimeMs?: () => number } = {},
) {
  attempt += 1;
  return syncAccount(
    deps,
    {
      accountId,
      trigger: options.trigger ?? 'manual',
      runId: `run-${attempt}`,
      leaseOwner: `owner-${attempt}`,
      remainingTimeMs: options.remainingTimeMs ?? (() => 300_000),
    },
    config,
  );
}

/** Compares the store with the simulator's truth: every reference once, latest status, removals. */
async function expectStoreMatchesTruth(account: Account) {
  const truth = sim.truth(account.walletId);
  const stored = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await transactions.listByAccount(account.accountId, { limit: 100, startKey });
    stored.push(...page.items);
    startKey = page.lastKey;
  } while (startKey);

  const refs = stored.map((tx) => tx.ref);
  expect(new Set(refs).size).toBe(refs.length);
  const live = truth.transactions.filter((tx) => !tx.removed);
  const byRef = new Map(stored.map((tx) => [tx.ref, tx]));
  for (const expected of live) {
    const tx = byRef.get(expected.financialTransactionId);
    expect(tx, `stored ${expected.financialTransactionId}`).toBeDefined();
    expect(tx?.status).toBe(expected.status);
    expect(tx?.amountMinor).toBe(expected.amountMinor);
    expect(tx?.removedAt).toBeUndefined();
  }
  for (const gone of truth.transactions.filter((tx) => tx.removed)) {
    const tx = byRef.get(gone.financialTransactionId);
    if (tx) expect(tx.removedAt).toBeDefined();
  }
  const current = await accounts.get(account.accountId, true);
  expect(current?.balanceMinor).toBe(truth.balanceMinor);
  return stored;
}

describe('sync against the simulator and dynalite', () => {
  it('stores a new wallet history exactly once, with the balance', async () => {
    const account = await linkWallet(30);

    const result = await sync(account.accountId);

    expect(result.outcome).toBe('synced');
    expect(result.counts.added).toBe(30);
    expect(result.counts.pages).toBe(5);
    const stored = await expectStoreMatchesTruth(account);
    expect(stored).toHaveLength(30);
  });

  it('keeps every reference once with its latest status across rounds of change', async () => {
    const account = await linkWallet(25);
    await sync(account.accountId);

    for (let round = 0; round < 6; round += 1) {
      clock.advance(10 * MINUTE);
      sim.advance({
        walletIds: [account.walletId],
        newTransactions: [1, 4],
        statusChangeRate: 0.6,
        lateArrivalRate: 0.5,
        lateArrivalMaxAgeMs: 5 * MINUTE,
        removalRate: 0.3,
        removalMaxAgeMs: 10 * MINUTE,
      });
      sim.setFaults({ duplicateAcrossPagesRate: 0.5 });
      // Time moves on between the provider's change and our sync, as it does in life.
      clock.advance(1_000);
      const result = await sync(account.accountId);
      expect(result.outcome).toBe('synced');
    }

    await expectStoreMatchesTruth(account);
  });

  it('writes nothing when an up-to-date account is synced again', async () => {
    const account = await linkWallet(12);
    await sync(account.accountId);
    clock.advance(5 * MINUTE);
    const before = dynamo.capacity.writeUnits(dynamo.tables.transactions);

    const result = await sync(account.accountId);

    expect(result.counts).toMatchObject({ added: 0, updated: 0, pages: 1, providerCalls: 1 });
    expect(dynamo.capacity.writeUnits(dynamo.tables.transactions)).toBe(before);
  });

  it('lets one of two racing syncs run and the other do nothing', async () => {
    const account = await linkWallet(20);

    const results = await Promise.all([sync(account.accountId), sync(account.accountId)]);

    expect(results.map((r) => r.outcome).sort()).toEqual(['skipped', 'synced']);
    await expectStoreMatchesTruth(account);
  });

  it('resumes a sync cut off after a page from its checkpoint and loses nothing', async () => {
    const account = await linkWallet(21);
    let checks = 0;

    const cut = await sync(account.accountId, {
      remainingTimeMs: () => (checks++ === 0 ? 300_000 : 1_000),
    });
    const checkpoint = (await accounts.get(account.accountId, true))?.cursor;
    clock.advance(MINUTE);
    const resumed = await sync(account.accountId);

    expect(cut).toMatchObject({ outcome: 'partial', needsAnotherPass: true });
    expect(cut.counts.added).toBe(7);
    expect(checkpoint).toBeDefined();
    // The second pass starts at the checkpoint (less the overlap), not at the look-back again.
    const { items } = await runs.listByAccount(account.accountId, { limit: 1 });
    expect(items[0]?.windowFrom).toBe(
      new Date(Date.parse(checkpoint ?? '') - config.overlapMs).toISOString(),
    );
    expect(resumed.outcome).toBe('synced');
    expect(resumed.counts.added).toBe(14);
    const stored = await expectStoreMatchesTruth(account);
    expect(stored).toHaveLength(21);
  });

  it('leaves the account in backoff after retries are exhausted, then catches up losing nothing', async () => {
    const account = await linkWallet(15);
    await sync(account.accountId);
    clock.advance(10 * MINUTE);
    sim.advance({ walletIds: [account.walletId], newTransactions: [3, 3] });
    sim.setFaults({ serverErrorRate: 1 });

    const failed = await sync(account.accountId);

    expect(failed).toMatchObject({ outcome: 'transient_error' });
    expect(failed.errorCode).toMatch(/^transient:/);
    const backedOff = await accounts.get(account.accountId, true);
    expect(backedOff?.consecutiveFailures).toBe(1);
    expect(Date.parse(backedOff?.dueAt ?? '')).toBeGreaterThan(clock.now().getTime());
    expect(backedOff?.leaseOwner).toBeUndefined();

    sim.resetFaults();
    clock.advance(failed.retryAfterMs ?? 0);
    const recovered = await sync(account.accountId, { trigger: 'schedule' });

    expect(recovered.outcome).toBe('synced');
    await expectStoreMatchesTruth(account);
    expect((await accounts.get(account.accountId, true))?.consecutiveFailures).toBe(0);
  });

  it('marks a revoked link auth_required and asks for exactly one push', async () => {
    const account = await linkWallet(3);
    sim.revokeLink(account.walletId);

    const first = await sync(account.accountId);
    const second = await sync(account.accountId);

    expect(first.outcome).toBe('auth_required');
    expect(second).toMatchObject({ outcome: 'skipped', skipReason: 'auth_required' });
    expect(notifier.requests).toEqual([
      {
        accountId: account.accountId,
        ownerId: account.ownerId,
        episode: 1,
        reason: 'link_revoked',
      },
    ]);
  });

  it('raises a platform credential failure without touching the account status', async () => {
    const account = await linkWallet(3);
    sim.setPlatformAuthFailure(true);

    await expect(sync(account.accountId)).rejects.toMatchObject({ name: 'PlatformAuthError' });

    const current = await accounts.get(account.accountId, true);
    expect(current).toMatchObject({ syncStatus: 'active', consecutiveFailures: 0 });
    expect(notifier.requests).toHaveLength(0);
  });

  it('records one sync run per attempt', async () => {
    const account = await linkWallet(2);
    await sync(account.accountId);
    clock.advance(MINUTE);
    await sync(account.accountId);

    const page = await runs.listByAccount(account.accountId, { limit: 10 });

    expect(page.items.map((run) => run.outcome)).toEqual(['synced', 'synced']);
    expect(page.items[0]?.startedAt).toBe(clock.now().toISOString());
  });
});
