import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAccountStore } from '../../../adapters/dynamodb/accounts';
import type { Account } from '../../../core/model';
import { LeaseLostError, type LeaseRequest } from '../../../core/ports';
import { ACCOUNTS_TABLE } from '../../../lib/resources';
import { createTables } from '../../../local/engines/dynamo';
import { accountFactory, startTestDynamo, type TestDynamo } from '../../support/dynamo';

const NOW = new Date('2026-03-01T06:05:00.000Z');
const LEASE_MS = 60_000;
const clock = { now: () => new Date('2026-03-01T06:10:00.000Z') };

let dynamo: TestDynamo;
let store: DynamoAccountStore;

beforeAll(async () => {
  dynamo = await startTestDynamo('accounts');
  store = new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts, clock);
});

afterAll(async () => {
  await dynamo.close();
});

async function stored(overrides: Partial<Account> = {}): Promise<Account> {
  const account = accountFactory(overrides);
  await store.create(account);
  return account;
}

function leaseRequest(account: Account, overrides: Partial<LeaseRequest> = {}): LeaseRequest {
  return {
    accountId: account.accountId,
    owner: 'sync-a',
    now: NOW,
    leaseMs: LEASE_MS,
    ...overrides,
  };
}

describe('DynamoAccountStore.create and get', () => {
  it('stores a new account and reads it back', async () => {
    const account = accountFactory({ balanceMinor: 12_000 });

    const created = await store.create(account);

    expect(created).toBe(true);
    expect(await store.get(account.accountId, true)).toEqual(account);
  });

  it('refuses an id that is taken and keeps the first account', async () => {
    const first = await stored({ name: 'First' });

    const created = await store.create({ ...first, name: 'Second' });

    expect(created).toBe(false);
    expect((await store.get(first.accountId, true))?.name).toBe('First');
  });

  it('reads nothing for an unknown id', async () => {
    expect(await store.get('acc-unknown')).toBeUndefined();
  });
});

describe('DynamoAccountStore.acquireLease', () => {
  it('leases a free account and returns it with the lease', async () => {
    const account = await stored();

    const result = await store.acquireLease(leaseRequest(account));

    expect(result).toEqual({
      acquired: true,
      account: {
        ...account,
        leaseOwner: 'sync-a',
        leaseExpiresAt: '2026-03-01T06:06:00.000Z',
        lastAttemptAt: NOW.toISOString(),
      },
    });
  });

  it('grants the lease to exactly one of two racing syncs', async () => {
    const account = await stored();

    const results = await Promise.all([
      store.acquireLease(leaseRequest(account, { owner: 'sync-a' })),
      store.acquireLease(leaseRequest(account, { owner: 'sync-b' })),
    ]);

    const winners = results.filter((result) => result.acquired);
    expect(winners).toHaveLength(1);
    expect(results.filter((result) => !result.acquired)).toEqual([
      { acquired: false, reason: 'busy' },
    ]);
    const winner = winners[0]?.acquired ? winners[0].account.leaseOwner : undefined;
    expect((await store.get(account.accountId, true))?.leaseOwner).toBe(winner);
  });

  it('takes over a lease that has expired', async () => {
    const account = await stored({
      leaseOwner: 'crashed-sync',
      leaseExpiresAt: '2026-03-01T06:04:59.999Z',
    });

    const result = await store.acquireLease(leaseRequest(account, { owner: 'sync-b' }));

    expect(result.acquired).toBe(true);
    expect((await store.get(account.accountId, true))?.leaseOwner).toBe('sync-b');
  });

  it('acquires an account due exactly at dueBy', async () => {
    const account = await stored({ dueAt: '2026-03-01T06:00:00.000Z' });

    const result = await store.acquireLease(
      leaseRequest(account, { dueBy: '2026-03-01T06:00:00.000Z' }),
    );

    expect(result.acquired).toBe(true);
  });

  it('ignores the due time when no dueBy is given (a manual sync)', async () => {
    const account = await stored({ dueAt: '2026-03-02T06:00:00.000Z' });

    const result = await store.acquireLease(leaseRequest(account));

    expect(result.acquired).toBe(true);
  });

  it.each<{ case: string; overrides: Partial<Account>; dueBy?: string; reason: string }>([
    {
      case: 'the lease is held and unexpired',
      overrides: { leaseOwner: 'other-sync', leaseExpiresAt: NOW.toISOString() },
      reason: 'busy',
    },
    {
      case: 'the account waits for a re-link',
      overrides: { syncStatus: 'auth_required' },
      reason: 'auth_required',
    },
    {
      case: 'the account is not due by dueBy',
      overrides: { dueAt: '2026-03-01T06:00:00.001Z' },
      dueBy: '2026-03-01T06:00:00.000Z',
      reason: 'not_due',
    },
    {
      case: 'it is leased and also not due (clauses are reported in order)',
      overrides: {
        dueAt: '2026-03-02T06:00:00.000Z',
        leaseOwner: 'other-sync',
        leaseExpiresAt: '2026-03-01T07:00:00.000Z',
      },
      dueBy: '2026-03-01T06:00:00.000Z',
      reason: 'busy',
    },
    {
      case: 'it waits for a re-link and is also leased',
      overrides: {
        syncStatus: 'auth_required',
        leaseOwner: 'other-sync',
        leaseExpiresAt: '2026-03-01T07:00:00.000Z',
      },
      reason: 'auth_required',
    },
  ])('refuses with $reason when $case', async ({ overrides, dueBy, reason }) => {
    const account = await stored(overrides);

    const result = await store.acquireLease(leaseRequest(account, { dueBy }));

    expect(result).toEqual({ acquired: false, reason });
    const after = await store.get(account.accountId, true);
    expect(after?.leaseOwner).toBe(account.leaseOwner);
    expect(after?.lastAttemptAt).toBeUndefined();
  });

  it('refuses with not_found for an unknown account and creates nothing', async () => {
    const result = await store.acquireLease(leaseRequest(accountFactory()));

    expect(result).toEqual({ acquired: false, reason: 'not_found' });
  });
});

describe('DynamoAccountStore.checkpoint', () => {
  it('moves the cursor and extends the lease for the lease owner', async () => {
    const account = await stored();
    await store.acquireLease(leaseRequest(account));

    await store.checkpoint(
      account.accountId,
      'sync-a',
      '2026-03-01T05:00:00.000Z',
      '2026-03-01T06:07:00.000Z',
    );

    const after = await store.get(account.accountId, true);
    expect(after).toMatchObject({
      cursor: '2026-03-01T05:00:00.000Z',
      leaseOwner: 'sync-a',
      leaseExpiresAt: '2026-03-01T06:07:00.000Z',
    });
  });

  it('throws LeaseLostError and moves nothing when another sync holds the lease', async () => {
    const account = await stored({ cursor: '2026-02-28T00:00:00.000Z' });
    await store.acquireLease(leaseRequest(account, { owner: 'sync-b' }));

    const attempt = store.checkpoint(
      account.accountId,
      'sync-a',
      '2026-03-01T05:00:00.000Z',
      '2026-03-01T06:07:00.000Z',
    );

    await expect(attempt).rejects.toBeInstanceOf(LeaseLostError);
    expect((await store.get(account.accountId, true))?.cursor).toBe('2026-02-28T00:00:00.000Z');
  });
});

describe('DynamoAccountStore.release', () => {
  it('applies the patch, removes null fields and frees the lease', async () => {
    const account = await stored({ lastErrorCode: 'transient:SERVICE_UNAVAILABLE' });
    await store.acquireLease(leaseRequest(account));

    await store.release(account.accountId, 'sync-a', {
      balanceMinor: 98_765,
      lastSyncedAt: '2026-03-01T06:05:30.000Z',
      dueAt: '2026-03-02T06:00:00.000Z',
      lastErrorCode: null,
      reauth: { episode: 2, openedAt: '2026-02-27T00:00:00.000Z' },
    });

    const after = await store.get(account.accountId, true);
    expect(after).toEqual({
      ...account,
      balanceMinor: 98_765,
      lastSyncedAt: '2026-03-01T06:05:30.000Z',
      lastAttemptAt: NOW.toISOString(),
      dueAt: '2026-03-02T06:00:00.000Z',
      lastErrorCode: undefined,
      reauth: { episode: 2, openedAt: '2026-02-27T00:00:00.000Z' },
      updatedAt: clock.now().toISOString(),
    });
    expect(after).not.toHaveProperty('lastErrorCode');
    expect(after).not.toHaveProperty('leaseOwner');
    expect(after).not.toHaveProperty('leaseExpiresAt');
  });

  it('keeps the updatedAt the patch carries', async () => {
    const account = await stored();
    await store.acquireLease(leaseRequest(account));

    await store.release(account.accountId, 'sync-a', { updatedAt: '2026-03-01T06:05:45.000Z' });

    expect((await store.get(account.accountId, true))?.updatedAt).toBe('2026-03-01T06:05:45.000Z');
  });

  it('throws LeaseLostError and changes nothing after the lease was taken over', async () => {
    const account = await stored({ balanceMinor: 100 });
    await store.acquireLease(leaseRequest(account, { owner: 'sync-a' }));
    const later = new Date(NOW.getTime() + LEASE_MS + 1);
    await store.acquireLease(leaseRequest(account, { owner: 'sync-b', now: later }));

    const attempt = store.release(account.accountId, 'sync-a', { balanceMinor: 200 });

    await expect(attempt).rejects.toBeInstanceOf(LeaseLostError);
    const after = await store.get(account.accountId, true);
    expect(after).toMatchObject({ balanceMinor: 100, leaseOwner: 'sync-b' });
  });

  it('throws LeaseLostError when the account holds no lease', async () => {
    const account = await stored();

    await expect(store.release(account.accountId, 'sync-a', {})).rejects.toBeInstanceOf(
      LeaseLostError,
    );
  });
});

describe('DynamoAccountStore.update', () => {
  it('applies a patch whose conditions hold and returns the new account', async () => {
    const account = await stored({
      syncStatus: 'auth_required',
      reauth: { episode: 3, openedAt: '2026-02-28T00:00:00.000Z' },
    });

    const result = await store.update(
      account.accountId,
      {
        reauth: {
          episode: 3,
          openedAt: '2026-02-28T00:00:00.000Z',
          notifiedAt: '2026-03-01T06:06:00.000Z',
          notifyResult: 'sent',
        },
      },
      [
        { path: 'reauth.episode', equals: 3 },
        { path: 'reauth.notifiedAt', exists: false },
      ],
    );

    expect(result.updated).toBe(true);
    expect(result.account?.reauth?.notifyResult).toBe('sent');
    expect(result.account?.updatedAt).toBe(clock.now().toISOString());
  });

  it('refuses when a condition fails and returns the account as it is', async () => {
    const account = await stored({
      reauth: { episode: 4, openedAt: '2026-02-28T00:00:00.000Z' },
    });

    const result = await store.update(account.accountId, { syncIntervalMinutes: 60 }, [
      { path: 'reauth.episode', equals: 3 },
    ]);

    expect(result).toEqual({ updated: false, account });
  });

  it('never creates an account that does not exist', async () => {
    const ghost = accountFactory();

    const result = await store.update(ghost.accountId, { syncIntervalMinutes: 60 });

    expect(result).toEqual({ updated: false });
    expect(await store.get(ghost.accountId, true)).toBeUndefined();
  });

  it('removes a field patched to null', async () => {
    const account = await stored({ syncIntervalMinutes: 30 });

    await store.update(account.accountId, { syncIntervalMinutes: null }, [
      { path: 'ownerId', equals: account.ownerId },
    ]);

    expect(await store.get(account.accountId, true)).not.toHaveProperty('syncIntervalMinutes');
  });
});

describe('DynamoAccountStore.listByOwner', () => {
  it("lists every account of the owner and no one else's, ordered by id", async () => {
    // More than one BatchGetItem call (100 keys each) worth of accounts.
    const mine = Array.from({ length: 105 }, () => accountFactory({ ownerId: 'owner-many' }));
    await Promise.all(
      [...mine, accountFactory({ ownerId: 'owner-other' })].map((a) => store.create(a)),
    );

    const listed = await store.listByOwner('owner-many');

    const expectedIds = mine.map((account) => account.accountId).sort();
    expect(listed.map((account) => account.accountId)).toEqual(expectedIds);
    expect(listed[0]).toEqual(mine.find((account) => account.accountId === expectedIds[0]));
  });

  it('lists nothing for an owner without accounts', async () => {
    expect(await store.listByOwner('owner-none')).toEqual([]);
  });
});

describe('DynamoAccountStore.scanDueSegment', () => {
  const DUE_BY = '2026-03-01T06:00:00.000Z';
  let scanStore: DynamoAccountStore;
  let due: Account[];

  beforeAll(async () => {
    // A table of its own, so the other tests' accounts do not show up in the scan.
    const tableName = `scan-${ACCOUNTS_TABLE.localName}`;
    await createTables(dynamo.client, [ACCOUNTS_TABLE], () => tableName);
    scanStore = new DynamoAccountStore(dynamo.doc, tableName, clock);
    due = [
      ...Array.from({ length: 40 }, (_, i) =>
        accountFactory({ dueAt: `2026-03-01T0${i % 6}:00:00.000Z` }),
      ),
      accountFactory({ dueAt: DUE_BY, syncStatus: 'error' }),
      accountFactory({ leaseOwner: 'live-sync', leaseExpiresAt: '2026-03-01T06:01:00.000Z' }),
    ];
    const skipped = [
      accountFactory({ dueAt: '2026-03-01T06:00:00.001Z' }),
      accountFactory({ dueAt: '2026-03-02T06:00:00.000Z', consecutiveFailures: 2 }),
      accountFactory({ syncStatus: 'auth_required', dueAt: '2026-02-01T00:00:00.000Z' }),
    ];
    await Promise.all([...due, ...skipped].map((account) => scanStore.create(account)));
  });

  it.each([1, 3, 8])(
    'returns every due account exactly once across %i segments, paged',
    async (totalSegments) => {
      const seen: string[] = [];
      for (let segment = 0; segment < totalSegments; segment += 1) {
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await scanStore.scanDueSegment({
            segment,
            totalSegments,
            dueBy: DUE_BY,
            limit: 7,
            startKey,
          });
          seen.push(...page.accounts.map((account) => account.accountId));
          startKey = page.lastKey;
        } while (startKey);
      }

      expect(seen.sort()).toEqual(due.map((account) => account.accountId).sort());
    },
  );

  it('returns only the fields the fan-out needs', async () => {
    const page = await scanStore.scanDueSegment({ segment: 0, totalSegments: 1, dueBy: DUE_BY });

    const sample = page.accounts[0];
    const source = due.find((account) => account.accountId === sample?.accountId);
    expect(sample).toEqual({
      accountId: source?.accountId,
      ownerId: source?.ownerId,
      dueAt: source?.dueAt,
      syncStatus: source?.syncStatus,
    });
  });
});
