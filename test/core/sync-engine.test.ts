import { beforeEach, describe, expect, it } from 'vitest';
import { PlatformAuthError } from '../../core/errors';
import type { Account, ProviderTransaction } from '../../core/model';
import {
  DEFAULT_SYNC_CONFIG,
  type SyncConfig,
  type SyncDeps,
  syncAccount,
} from '../../core/sync-engine';
import {
  ListProvider,
  ManualClock,
  MemoryAccounts,
  MemoryRuns,
  MemoryTransactions,
  makeAccount,
  makeProviderTx,
  providerError,
  RecordingNotifier,
} from '../support/in-memory';

const NOW = '2026-03-10T02:00:00.000Z';
const config: SyncConfig = { ...DEFAULT_SYNC_CONFIG, overlapMs: 3_600_000 };

interface World {
  accounts: MemoryAccounts;
  transactions: MemoryTransactions;
  runs: MemoryRuns;
  provider: ListProvider;
  notifier: RecordingNotifier;
  clock: ManualClock;
  deps: SyncDeps;
}

function world(account: Partial<Account> = {}): World {
  const accounts = new MemoryAccounts();
  accounts.put(makeAccount({ cursor: '2026-03-09T02:00:00.000Z', ...account }));
  const transactions = new MemoryTransactions();
  const runs = new MemoryRuns();
  const provider = new ListProvider();
  const notifier = new RecordingNotifier();
  const clock = new ManualClock(new Date(NOW));
  return {
    accounts,
    transactions,
    runs,
    provider,
    notifier,
    clock,
    deps: { accounts, transactions, runs, provider, notifier, clock, random: () => 0.5 },
  };
}

let attempt = 0;
function sync(
  w: World,
  overrides: {
    trigger?: 'schedule' | 'manual' | 'continuation';
    runId?: string;
    remaining?: () => number;
  } = {},
) {
  attempt += 1;
  return syncAccount(
    w.deps,
    {
      accountId: 'acc-1',
      trigger: overrides.trigger ?? 'manual',
      runId: overrides.runId ?? `run-${attempt}`,
      leaseOwner: `owner-${attempt}`,
      remainingTimeMs: overrides.remaining ?? (() => 600_000),
    },
    config,
  );
}

const tx = (ref: string, updatedAt: string, extra: Partial<ProviderTransaction> = {}) =>
  makeProviderTx({ ref, createdAt: updatedAt, updatedAt, ...extra });

describe('syncAccount', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  describe('when the provider has new transactions', () => {
    beforeEach(() => {
      w.provider.transactions = [
        tx('a', '2026-03-09T05:00:00.000Z'),
        tx('b', '2026-03-09T06:00:00.000Z', { status: 'PENDING' }),
        tx('c', '2026-03-09T07:00:00.000Z'),
      ];
      w.provider.balance = { amountMinor: 98_000, currency: 'GHS' };
    });

    it('stores each one once and counts them as added', async () => {
      const result = await sync(w);

      expect(result.outcome).toBe('synced');
      expect(result.counts).toMatchObject({ added: 3, updated: 0, unchanged: 0, pages: 2 });
      expect(
        w.transactions
          .all('acc-1')
          .map((t) => t.ref)
          .sort(),
      ).toEqual(['a', 'b', 'c']);
    });

    it('fetches from the cursor minus the overlap up to now', async () => {
      await sync(w);

      expect(w.provider.queries[0]).toMatchObject({
        walletId: 'wallet-1',
        from: '2026-03-09T01:00:00.000Z',
        to: NOW,
      });
    });

    it('leaves the account active with balance, cursor, due time and no lease', async () => {
      await sync(w);

      const account = w.accounts.get('acc-1');
      expect(account).toMatchObject({
        syncStatus: 'active',
        balanceMinor: 98_000,
        currency: 'GHS',
        cursor: NOW,
        lastSyncedAt: NOW,
        consecutiveFailures: 0,
        dueAt: '2026-03-11T02:00:00.000Z',
      });
      expect(account.leaseOwner).toBeUndefined();
      expect(account.leaseExpiresAt).toBeUndefined();
    });

    it('records one sync run with the counts and the window', async () => {
      await sync(w);

      expect(w.runs.runs).toHaveLength(1);
      expect(w.runs.runs[0]).toMatchObject({
        accountId: 'acc-1',
        trigger: 'manual',
        outcome: 'synced',
        counts: { added: 3, pages: 2, providerCalls: 2 },
        windowFrom: '2026-03-09T01:00:00.000Z',
        windowTo: NOW,
      });
    });

    it('writes nothing for the same transactions seen again in the overlap', async () => {
      await sync(w);
      const writesAfterFirst = w.transactions.writes;
      w.clock.advance(30 * 60_000);
      // Pretend the last sync ended at 06:30: the overlap re-fetches b (06:00) and c (07:00).
      w.accounts.get('acc-1').cursor = '2026-03-09T06:30:00.000Z';

      const second = await sync(w);

      expect(second.counts).toMatchObject({ added: 0, updated: 0, unchanged: 2 });
      expect(w.transactions.writes).toBe(writesAfterFirst);
    });

    it('rewrites a transaction whose status changed, keeping one copy', async () => {
      await sync(w);
      w.clock.advance(60_000);
      w.provider.transactions[1] = tx('b', '2026-03-09T06:00:00.000Z', {
        updatedAt: '2026-03-10T02:00:30.000Z',
        status: 'SUCCESSFUL',
      });

      const second = await sync(w);

      expect(second.counts).toMatchObject({ added: 0, updated: 1 });
      const stored = w.transactions.all('acc-1').filter((t) => t.ref === 'b');
      expect(stored).toHaveLength(1);
      expect(stored[0]?.status).toBe('SUCCESSFUL');
    });
  });

  it('goes back the look-back on the first sync of a new account', async () => {
    w = world({ cursor: undefined });

    await sync(w);

    expect(w.provider.queries[0]?.from).toBe(
      new Date(Date.parse(NOW) - config.firstSyncLookbackMs).toISOString(),
    );
  });

  it('keeps the newest version when a transaction appears twice across pages', async () => {
    w.provider.pageSize = 1;
    w.provider.transactions = [
      tx('a', '2026-03-09T05:00:00.000Z'),
      tx('a', '2026-03-09T05:00:00.000Z'),
    ];

    const result = await sync(w);

    expect(result.counts.added).toBe(1);
    expect(w.transactions.writes).toBe(1);
  });

  it('updates a transaction that changed between two pages from what the pass wrote', async () => {
    // Arrange: reads that lag this pass's own writes, as an eventually consistent read may.
    const readsBefore = new Map(w.transactions.items);
    w.transactions.getStates = async (accountId, keys) =>
      new Map(
        keys.flatMap(({ ref }) => {
          const stored = readsBefore.get(`${accountId}|${ref}`);
          return stored ? [[ref, { ...stored }] as const] : [];
        }),
      );
    w.provider.pageSize = 1;
    w.provider.transactions = [
      tx('a', '2026-03-09T05:00:00.000Z', { status: 'PENDING' }),
      tx('a', '2026-03-09T05:00:01.000Z', {
        status: 'SUCCESSFUL',
        createdAt: '2026-03-09T05:00:00.000Z',
      }),
    ];

    // Act
    const result = await sync(w);

    // Assert
    expect(result.outcome).toBe('synced');
    expect(result.counts).toMatchObject({ added: 1, updated: 1 });
    expect(w.transactions.all('acc-1').map((t) => t.status)).toEqual(['SUCCESSFUL']);
  });

  it('marks a transaction the provider stopped returning as removed, without deleting it', async () => {
    w.provider.transactions = [
      tx('a', '2026-03-09T05:00:00.000Z'),
      tx('gone', '2026-03-09T06:00:00.000Z'),
    ];
    await sync(w);
    w.provider.transactions = [tx('a', '2026-03-09T05:00:00.000Z')];
    w.clock.advance(60_000);
    w.accounts.get('acc-1').cursor = '2026-03-09T06:30:00.000Z';

    const result = await sync(w);

    expect(result.counts.removed).toBe(1);
    const gone = w.transactions.all('acc-1').find((t) => t.ref === 'gone');
    expect(gone?.removedAt).toBe('2026-03-10T02:01:00.000Z');
  });

  it('does not mark removed a transaction that changed after the window closed', async () => {
    // Arrange: a PENDING stored by the first sync settles, stamped by a provider clock that runs
    // two seconds ahead of ours, so the second sync's window ends before its new updatedAt.
    w.provider.transactions = [
      tx('p', '2026-03-10T01:30:00.000Z', { status: 'PENDING' }),
      tx('gone', '2026-03-10T01:40:00.000Z'),
    ];
    await sync(w);
    w.clock.advance(60_000);
    w.provider.transactions = [
      tx('p', '2026-03-10T02:01:02.000Z', {
        status: 'SUCCESSFUL',
        createdAt: '2026-03-10T01:30:00.000Z',
      }),
    ];

    // Act
    const result = await sync(w);

    // Assert: only the transaction that really left the wallet is marked.
    expect(result.counts.removed).toBe(1);
    const stored = new Map(w.transactions.all('acc-1').map((t) => [t.ref, t]));
    expect(stored.get('p')?.removedAt).toBeUndefined();
    expect(stored.get('gone')?.removedAt).toBe('2026-03-10T02:01:00.000Z');
    expect(w.provider.queries.at(-1)).toMatchObject({
      from: '2026-03-10T02:01:00.000Z',
      to: '2026-03-10T03:01:00.000Z',
    });
  });

  it('asks the provider nothing past the window when nothing is missing from it', async () => {
    w.provider.transactions = [tx('a', '2026-03-10T01:30:00.000Z')];
    await sync(w);
    w.clock.advance(60_000);

    const result = await sync(w);

    expect(result.counts).toMatchObject({ providerCalls: 1, removed: 0 });
  });

  it('restores a removed transaction that the provider returns again', async () => {
    w.provider.transactions = [tx('a', '2026-03-09T05:00:00.000Z')];
    await sync(w);
    w.provider.transactions = [];
    w.clock.advance(60_000);
    w.accounts.get('acc-1').cursor = '2026-03-09T05:30:00.000Z';
    expect((await sync(w)).counts.removed).toBe(1);
    w.provider.transactions = [tx('a', '2026-03-09T05:00:00.000Z')];
    w.clock.advance(60_000);
    w.accounts.get('acc-1').cursor = '2026-03-09T05:30:00.000Z';

    const result = await sync(w);

    expect(result.counts.updated).toBe(1);
    expect(w.transactions.all('acc-1')[0]?.removedAt).toBeUndefined();
  });

  describe('leases', () => {
    it('is a clean no-op when another sync holds the lease', async () => {
      w.accounts.get('acc-1').leaseOwner = 'someone-else';
      w.accounts.get('acc-1').leaseExpiresAt = '2026-03-10T02:01:00.000Z';

      const result = await sync(w);

      expect(result).toMatchObject({ outcome: 'skipped', skipReason: 'busy' });
      expect(w.provider.queries).toHaveLength(0);
      expect(w.runs.runs).toHaveLength(0);
    });

    it('takes over a lease that expired', async () => {
      w.accounts.get('acc-1').leaseOwner = 'crashed';
      w.accounts.get('acc-1').leaseExpiresAt = '2026-03-10T01:59:00.000Z';

      const result = await sync(w);

      expect(result.outcome).toBe('synced');
    });

    it('lets only one of two concurrent syncs run', async () => {
      w.provider.transactions = [tx('a', '2026-03-09T05:00:00.000Z')];

      const results = await Promise.all([sync(w), sync(w)]);

      expect(results.map((r) => r.outcome).sort()).toEqual(['skipped', 'synced']);
      expect(w.transactions.writes).toBe(1);
    });

    it('skips a scheduled sync of an account that is not due yet', async () => {
      w.accounts.get('acc-1').dueAt = '2026-03-10T05:00:00.000Z';

      const result = await sync(w, { trigger: 'schedule' });

      expect(result).toMatchObject({ outcome: 'skipped', skipReason: 'not_due' });
    });

    it('takes a scheduled sync due within the tolerance of the run time', async () => {
      w.accounts.get('acc-1').dueAt = '2026-03-10T02:01:00.000Z';

      const result = await sync(w, { trigger: 'schedule' });

      expect(result.outcome).toBe('synced');
    });

    describe('the next due time of a scheduled sync', () => {
      // The 02:00 run's backlog drains at the provider's rate limit, for hours at scale.
      const RUN_ID = 'schedule-2026-03-10T02:00:00.000Z';
      const dueAfter = async (trigger: 'schedule' | 'continuation', runId: string) => {
        w.accounts.get('acc-1').syncIntervalMinutes = 24 * 60;
        w.clock.set('2026-03-10T05:30:00.000Z');
        expect((await sync(w, { trigger, runId })).outcome).toBe('synced');
        return w.accounts.get('acc-1').dueAt;
      };

      it.each(['schedule', 'continuation'] as const)(
        'counts from the run time, so a %s late in the backlog is due at the next run',
        async (trigger) => {
          expect(await dueAfter(trigger, RUN_ID)).toBe('2026-03-11T02:00:00.000Z');
        },
      );

      it('counts from the sync itself for a run time ahead of it (an operator typo)', async () => {
        expect(await dueAfter('schedule', 'schedule-2026-03-12T02:00:00.000Z')).toBe(
          '2026-03-11T05:30:00.000Z',
        );
      });
    });

    describe('the next due time of a manual sync', () => {
      const dueAfterManual = async (dueAt: string) => {
        const account = w.accounts.get('acc-1');
        account.syncIntervalMinutes = 24 * 60;
        account.dueAt = dueAt;
        w.clock.set('2026-03-10T15:00:00.000Z');
        await sync(w, { trigger: 'manual', runId: 'f3b0c1de-0000-4000-8000-000000000000' });
        return w.accounts.get('acc-1').dueAt;
      };

      it('keeps the coming night’s due time, so the account stays in the nightly run', async () => {
        expect(await dueAfterManual('2026-03-11T02:00:00.000Z')).toBe('2026-03-11T02:00:00.000Z');
      });

      it.each([
        ['already past', '2026-03-10T02:00:00.000Z'],
        ['further off than the interval', '2026-03-13T02:00:00.000Z'],
      ])('counts from the sync itself when the due time is %s', async (_, dueAt) => {
        expect(await dueAfterManual(dueAt)).toBe('2026-03-11T15:00:00.000Z');
      });
    });

    it('runs a manual sync whatever the due time', async () => {
      w.accounts.get('acc-1').dueAt = '2026-03-12T00:00:00.000Z';

      expect((await sync(w, { trigger: 'manual' })).outcome).toBe('synced');
    });
  });

  describe('checkpoints', () => {
    beforeEach(() => {
      w.provider.transactions = [
        tx('a', '2026-03-09T05:00:00.000Z'),
        tx('b', '2026-03-09T06:00:00.000Z'),
        tx('c', '2026-03-09T07:00:00.000Z'),
        tx('d', '2026-03-09T08:00:00.000Z'),
      ];
    });

    it('moves the cursor after each page that has another after it', async () => {
      const cursors: string[] = [];
      const checkpoint = w.accounts.checkpoint.bind(w.accounts);
      w.accounts.checkpoint = async (id, owner, cursor, expires) => {
        cursors.push(cursor);
        return checkpoint(id, owner, cursor, expires);
      };

      await sync(w);

      expect(cursors).toEqual(['2026-03-09T06:00:00.000Z']);
    });

    it('stops before the timeout, keeps the checkpoint and asks for another pass', async () => {
      let calls = 0;
      const remaining = () => (calls++ === 0 ? 600_000 : 1_000);

      const result = await sync(w, { remaining });

      expect(result).toMatchObject({ outcome: 'partial', needsAnotherPass: true });
      expect(result.counts.added).toBe(2);
      const account = w.accounts.get('acc-1');
      expect(account.cursor).toBe('2026-03-09T06:00:00.000Z');
      expect(account.leaseOwner).toBeUndefined();
      expect(w.runs.runs[0]?.outcome).toBe('partial');
    });

    it('resumes a cut-off sync from its checkpoint and loses nothing', async () => {
      let calls = 0;
      await sync(w, { remaining: () => (calls++ === 0 ? 600_000 : 1_000) });
      w.clock.advance(60_000);

      const resumed = await sync(w);

      expect(w.provider.queries.at(-2)?.from).toBe('2026-03-09T05:00:00.000Z');
      expect(resumed.outcome).toBe('synced');
      expect(
        w.transactions
          .all('acc-1')
          .map((t) => t.ref)
          .sort(),
      ).toEqual(['a', 'b', 'c', 'd']);
    });

    it('resumes after a sync that died mid-way with its lease, once the lease expired', async () => {
      // A process that dies after the first page: the second page never comes back and nothing
      // after it (not even the release) reaches the store.
      const fetchPage = w.provider.fetchStatement.bind(w.provider);
      w.provider.fetchStatement = async (query, options) => {
        if (query.pageToken) throw new Error('process killed');
        return fetchPage(query, options);
      };
      const release = w.accounts.release.bind(w.accounts);
      w.accounts.release = async () => {
        throw new Error('process killed');
      };
      await sync(w);
      expect(w.accounts.get('acc-1').leaseOwner).toBeDefined();
      w.provider.fetchStatement = fetchPage;
      w.accounts.release = release;
      w.clock.advance(config.leaseMs + 1);

      const resumed = await sync(w);

      expect(resumed.outcome).toBe('synced');
      expect(
        w.transactions
          .all('acc-1')
          .map((t) => t.ref)
          .sort(),
      ).toEqual(['a', 'b', 'c', 'd']);
    });
  });

  describe('failures', () => {
    it('backs off after a transient failure, keeping the account active', async () => {
      w.provider.failures.push(providerError('transient', 'SERVICE_UNAVAILABLE'));

      const result = await sync(w);

      expect(result).toMatchObject({
        outcome: 'transient_error',
        errorCode: 'transient:SERVICE_UNAVAILABLE',
        retryAfterMs: 15_000,
      });
      expect(w.accounts.get('acc-1')).toMatchObject({
        syncStatus: 'active',
        consecutiveFailures: 1,
        lastErrorCode: 'transient:SERVICE_UNAVAILABLE',
        dueAt: '2026-03-10T02:00:15.000Z',
      });
      expect(w.runs.runs[0]).toMatchObject({
        outcome: 'transient_error',
        errorCode: 'transient:SERVICE_UNAVAILABLE',
      });
    });

    it('shows error after the configured number of consecutive failures', async () => {
      w = world({ consecutiveFailures: config.maxConsecutiveFailures - 1 });
      w.provider.failures.push(providerError('transient', 'INTERNAL_PROCESSING_ERROR'));

      await sync(w);

      expect(w.accounts.get('acc-1')).toMatchObject({
        syncStatus: 'error',
        consecutiveFailures: 5,
      });
    });

    it('resets the failures and the error code after a good sync', async () => {
      w = world({ consecutiveFailures: 7, syncStatus: 'error', lastErrorCode: 'transient:X' });

      await sync(w);

      const account = w.accounts.get('acc-1');
      expect(account).toMatchObject({ syncStatus: 'active', consecutiveFailures: 0 });
      expect(account.lastErrorCode).toBeUndefined();
    });

    it('records a permanent failure as error with the longest backoff', async () => {
      w.provider.failures.push(providerError('permanent', 'RESOURCE_NOT_FOUND'));

      const result = await sync(w);

      expect(result).toMatchObject({
        outcome: 'permanent_error',
        errorCode: 'permanent:RESOURCE_NOT_FOUND',
      });
      expect(w.accounts.get('acc-1')).toMatchObject({
        syncStatus: 'error',
        dueAt: new Date(Date.parse(NOW) + config.backoffCapMs).toISOString(),
      });
    });

    it('hands a rate limit back with the provider delay and counts no failure', async () => {
      w.provider.failures.push(providerError('rate_limited', 'TOO_MANY_REQUESTS', 7_000));

      const result = await sync(w);

      expect(result).toMatchObject({ outcome: 'rate_limited', retryAfterMs: 7_000 });
      expect(w.accounts.get('acc-1').consecutiveFailures).toBe(0);
    });

    it('treats a failure of the store as transient', async () => {
      w.provider.transactions = [tx('a', '2026-03-09T05:00:00.000Z')];
      w.transactions.getStates = async () => {
        throw Object.assign(new Error('throttled'), {
          name: 'ProvisionedThroughputExceededException',
        });
      };

      const result = await sync(w);

      expect(result).toMatchObject({
        outcome: 'transient_error',
        errorCode: 'internal:ProvisionedThroughputExceededException',
      });
      expect(w.accounts.get('acc-1').leaseOwner).toBeUndefined();
    });

    it('raises a platform auth failure, counting nothing against the account', async () => {
      w.provider.failures.push(
        new PlatformAuthError({ code: 'INVALID_SUBSCRIPTION_KEY', status: 401 }),
      );

      await expect(sync(w)).rejects.toBeInstanceOf(PlatformAuthError);

      const account = w.accounts.get('acc-1');
      expect(account).toMatchObject({ syncStatus: 'active', consecutiveFailures: 0 });
      expect(account.leaseOwner).toBeUndefined();
      expect(w.notifier.requests).toHaveLength(0);
      expect(w.runs.runs[0]?.outcome).toBe('platform_auth_error');
    });
  });

  describe('expired wallet links', () => {
    it('marks the account, opens episode 1 and asks for one push', async () => {
      w.provider.failures.push(providerError('account_auth', 'LINK_EXPIRED'));

      const result = await sync(w);

      expect(result).toMatchObject({ outcome: 'auth_required', openedEpisode: 1 });
      expect(w.accounts.get('acc-1')).toMatchObject({
        syncStatus: 'auth_required',
        reauth: { episode: 1, openedAt: NOW },
      });
      expect(w.notifier.requests).toEqual([
        { accountId: 'acc-1', ownerId: 'user-1', episode: 1, reason: 'link_expired' },
      ]);
    });

    it('asks for no second push while the episode is open', async () => {
      w = world({ reauth: { episode: 3, openedAt: '2026-03-01T00:00:00.000Z' } });
      w.provider.failures.push(providerError('account_auth', 'LINK_REVOKED'));

      const result = await sync(w);

      expect(result.openedEpisode).toBeUndefined();
      expect(w.notifier.requests).toHaveLength(0);
      expect(w.accounts.get('acc-1').reauth?.episode).toBe(3);
    });

    it('opens a new episode after the last one closed', async () => {
      w = world({
        reauth: {
          episode: 3,
          openedAt: '2026-03-01T00:00:00.000Z',
          closedAt: '2026-03-02T00:00:00.000Z',
        },
      });
      w.provider.failures.push(providerError('account_auth', 'LINK_REVOKED'));

      await sync(w);

      expect(w.notifier.requests).toEqual([
        { accountId: 'acc-1', ownerId: 'user-1', episode: 4, reason: 'link_revoked' },
      ]);
    });

    it('closes the open episode when a sync succeeds again', async () => {
      w = world({ reauth: { episode: 2, openedAt: '2026-03-01T00:00:00.000Z' } });

      await sync(w);

      expect(w.accounts.get('acc-1').reauth).toEqual({
        episode: 2,
        openedAt: '2026-03-01T00:00:00.000Z',
        closedAt: NOW,
      });
    });

    it('opens the episode without a push for an owner who turned re-link pushes off', async () => {
      w = world({ relinkPushes: false });
      w.provider.failures.push(providerError('account_auth', 'LINK_EXPIRED'));

      await sync(w);

      expect(w.notifier.requests).toHaveLength(0);
      expect(w.accounts.get('acc-1').reauth).toMatchObject({
        episode: 1,
        notifyResult: 'opted_out',
      });
    });

    it('keeps the account retryable when the push request cannot be queued', async () => {
      w.notifier.failNext = true;
      w.provider.failures.push(providerError('account_auth', 'LINK_EXPIRED'));

      const first = await sync(w);
      w.provider.failures.push(providerError('account_auth', 'LINK_EXPIRED'));
      const second = await sync(w);

      expect(first.outcome).toBe('transient_error');
      expect(second.outcome).toBe('auth_required');
      expect(w.notifier.requests.map((r) => r.episode)).toEqual([1]);
    });
  });
});
