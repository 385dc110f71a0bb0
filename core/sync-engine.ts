/**
 * The sync engine: brings one wallet's new and changed transactions into the store exactly once.
 * It talks only through the ports in ./ports, so the Lambda consumer, the local stack and the
 * tests all run this very code.
 *
 * One sync: lease the account -> fetch the window page by page -> per page, read the stored
 * state of its transactions and write only what is new or changed -> checkpoint -> at the end,
 * mark what the provider stopped returning, then release the account with its new balance,
 * status, cursor and due time, and record the attempt.
 */
import { isProviderError, PlatformAuthError, type ProviderError } from './errors';
import { runTimeOf } from './fan-out';
import type {
  Account,
  ProviderTransaction,
  RelinkRequest,
  StoredTransaction,
  SyncCounts,
  SyncOutcome,
  SyncRun,
  Trigger,
} from './model';
import {
  type AccountLeases,
  type AccountPatch,
  type Clock,
  LeaseLostError,
  type Notifier,
  type StoredTransactionState,
  type SyncRunStore,
  type TransactionStore,
  type WalletProvider,
} from './ports';
import {
  advanceCursor,
  type BackoffConfig,
  backoffDelayMs,
  type FetchWindow,
  type FrequencyConfig,
  fetchWindow,
  fingerprint,
  nextActivityScore,
  nextDueAt,
  syncIntervalMinutes,
  type WindowConfig,
} from './rules';

export interface SyncConfig extends WindowConfig, BackoffConfig, FrequencyConfig {
  /** How long a lease holds without a checkpoint; longer than one page takes at worst. */
  leaseMs: number;
  /** Consecutive failures after which the account shows `error` (it is still retried). */
  maxConsecutiveFailures: number;
  /** Time kept in hand before the Lambda timeout to checkpoint and release. */
  safetyMarginMs: number;
  /**
   * A scheduled sync takes accounts due up to this long after the run time, so that an account
   * synced at 02:01 yesterday is not skipped by today's 02:00 run.
   */
  dueToleranceMs: number;
}

const MINUTE = 60_000;

export const DEFAULT_SYNC_CONFIG: SyncConfig = {
  overlapMs: 60 * MINUTE,
  firstSyncLookbackMs: 90 * 24 * 60 * MINUTE,
  leaseMs: 2 * MINUTE,
  backoffBaseMs: 30_000,
  backoffCapMs: 6 * 60 * MINUTE,
  maxConsecutiveFailures: 5,
  safetyMarginMs: 10_000,
  dueToleranceMs: 60 * MINUTE,
  defaultIntervalMinutes: 24 * 60,
  minIntervalMinutes: 60,
  maxIntervalMinutes: 7 * 24 * 60,
  adaptive: true,
};

export interface SyncDeps {
  accounts: AccountLeases;
  transactions: TransactionStore;
  runs: SyncRunStore;
  provider: WalletProvider;
  notifier: Notifier;
  clock: Clock;
  /** Source of jitter; injectable so tests are exact. */
  random?: () => number;
}

export interface SyncRequest {
  accountId: string;
  trigger: Trigger;
  runId: string;
  /** Unique per attempt: the fencing token of every write after the lease. */
  leaseOwner: string;
  /** Milliseconds left before the caller is cut off (Lambda's getRemainingTimeInMillis). */
  remainingTimeMs: () => number;
}

export interface SyncResult {
  outcome: SyncOutcome;
  counts: SyncCounts;
  /** Sanitised, e.g. `transient:SERVICE_UNAVAILABLE`; absent on success. */
  errorCode?: string;
  /** For transient and rate-limited outcomes: when to try again. */
  retryAfterMs?: number;
  /** The sync stopped early (time ran short) and the account wants another pass. */
  needsAnotherPass: boolean;
  /** Why nothing was done, for `skipped`. */
  skipReason?: 'busy' | 'not_due' | 'not_found' | 'auth_required' | 'lease_lost';
  /** The re-auth episode opened by this sync, if any. */
  openedEpisode?: number;
}

const zeroCounts = (): SyncCounts => ({
  added: 0,
  updated: 0,
  unchanged: 0,
  removed: 0,
  pages: 0,
  providerCalls: 0,
});

/** Syncs one account. Throws only {@link PlatformAuthError}; every other failure is an outcome. */
export async function syncAccount(
  deps: SyncDeps,
  request: SyncRequest,
  config: SyncConfig,
): Promise<SyncResult> {
  const started = deps.clock.now();
  const lease = await deps.accounts.acquireLease({
    accountId: request.accountId,
    owner: request.leaseOwner,
    now: started,
    leaseMs: config.leaseMs,
    dueBy:
      request.trigger === 'schedule'
        ? new Date(started.getTime() + config.dueToleranceMs).toISOString()
        : undefined,
  });
  if (!lease.acquired) {
    // A duplicate message, a race with another consumer or an account that changed state since
    // it was queued: nothing to do, and nothing worth a sync-run record.
    return {
      outcome: 'skipped',
      counts: zeroCounts(),
      needsAnotherPass: false,
      skipReason: lease.reason,
    };
  }
  const pass = new SyncPass(deps, request, config, lease.account, started);
  return pass.run();
}

/**
 * The next due time after a successful sync. A scheduled run's backlog drains at the provider's
 * rate limit, for hours at scale: counted from the sync, an account synced at 05:30 for the 02:00
 * run would be due at 05:30 the next day, past that day's run and its tolerance, and wait a day
 * more. So a scheduled sync counts from its run time, and every account of a run is due at the
 * same later run; a run time ahead of the sync (only an operator can give one) counts from the
 * sync, so that it cannot put an account off. A sync no schedule started (sync now, a re-link)
 * counts from itself but keeps the account's due time when that is still ahead and sooner:
 * otherwise an afternoon's sync now would miss the next night's run and wait for the one after.
 */
function nextDue(account: Account, runId: string, started: Date, interval: number): string {
  const runTime = runTimeOf(runId);
  if (runTime !== undefined) return nextDueAt(runTime <= started ? runTime : started, interval);
  const next = nextDueAt(started, interval);
  const planned = account.dueAt;
  return planned > started.toISOString() && planned < next ? planned : next;
}

/** The state of one sync of one account, from lease to release. */
class SyncPass {
  private readonly counts = zeroCounts();
  private readonly window: FetchWindow;
  /** Fingerprints of what this pass already handled, by reference: a page repeat costs nothing. */
  private readonly seen = new Map<string, string>();
  private cursor: string | undefined;
  private balance: { amountMinor: number; currency: string } | undefined;

  constructor(
    private readonly deps: SyncDeps,
    private readonly request: SyncRequest,
    private readonly config: SyncConfig,
    private readonly account: Account,
    private readonly started: Date,
  ) {
    this.window = fetchWindow(account.cursor, started, config);
    this.cursor = account.cursor;
  }

  async run(): Promise<SyncResult> {
    try {
      const completed = await this.fetchAll();
      if (!completed) return await this.stopEarly();
      return await this.succeed();
    } catch (error) {
      return this.fail(error);
    }
  }

  /** Fetches and applies every page of the window; false when time ran short first. */
  private async fetchAll(): Promise<boolean> {
    let pageToken: string | undefined;
    let balance: { amountMinor: number; currency: string } | undefined;
    do {
      // Keep one margin for the page itself and one to checkpoint and release afterwards.
      const remaining = this.request.remainingTimeMs();
      if (remaining < 2 * this.config.safetyMarginMs) return false;
      const page = await this.deps.provider.fetchStatement(
        { walletId: this.account.walletId, from: this.window.from, to: this.window.to, pageToken },
        {
          deadline: Date.now() + remaining - this.config.safetyMarginMs,
          onRequest: () => {
            this.counts.providerCalls += 1;
          },
        },
      );
      this.counts.pages += 1;
      await this.applyPage(page.transactions);
      balance = page.balance;
      pageToken = page.nextPageToken;
      const pageMax = maxUpdatedAt(page.transactions);
      // The window is fetched in updatedAt order, so once a page is stored nothing older than its
      // last row is missing: that is a safe place to resume from (minus the overlap).
      this.cursor = advanceCursor(this.cursor, pageMax);
      if (pageToken !== undefined && this.cursor !== undefined) {
        await this.deps.accounts.checkpoint(
          this.account.accountId,
          this.request.leaseOwner,
          this.cursor,
          new Date(this.deps.clock.now().getTime() + this.config.leaseMs).toISOString(),
        );
      }
    } while (pageToken !== undefined);
    this.balance = balance;
    return true;
  }

  /** Writes the new and changed transactions of one page; an unchanged one costs no write. */
  private async applyPage(transactions: ProviderTransaction[]): Promise<void> {
    const latest = new Map<string, ProviderTransaction>();
    for (const tx of transactions) {
      const previous = latest.get(tx.ref);
      // The same transaction twice on a page (or on two pages): keep the newest version.
      if (!previous || Date.parse(tx.updatedAt) >= Date.parse(previous.updatedAt)) {
        latest.set(tx.ref, tx);
      }
    }
    const fresh = [...latest.values()]
      .map((tx) => ({ tx, print: fingerprint(tx) }))
      .filter(({ tx, print }) => this.seen.get(tx.ref) !== print);
    if (fresh.length === 0) return;
    // A transaction this pass already handled is stored with the fingerprint it left there, so
    // only the others are read: a status that changed between two pages needs no lookup.
    const unread = fresh.filter(({ tx }) => !this.seen.has(tx.ref)).map(({ tx }) => tx);
    const states =
      unread.length > 0
        ? await this.deps.transactions.getStates(this.account.accountId, unread)
        : new Map<string, StoredTransactionState>();
    const writes: Array<() => Promise<void>> = [];
    for (const { tx, print } of fresh) {
      const handled = this.seen.get(tx.ref);
      const state = states.get(tx.ref);
      if (handled !== undefined) {
        writes.push(() => this.write(tx, print, handled));
      } else if (state && state.fingerprint === print && state.removedAt === undefined) {
        this.counts.unchanged += 1;
      } else {
        writes.push(() => this.write(tx, print, state?.fingerprint));
      }
      this.seen.set(tx.ref, print);
    }
    await inParallel(writes, WRITE_CONCURRENCY);
  }

  private async write(tx: ProviderTransaction, print: string, previous: string | undefined) {
    const now = this.deps.clock.now().toISOString();
    const stored: StoredTransaction = {
      ...tx,
      accountId: this.account.accountId,
      fingerprint: print,
      firstSeenAt: now,
      lastChangedAt: now,
    };
    const written = await this.deps.transactions.write(
      stored,
      previous === undefined ? { kind: 'new' } : { kind: 'changed', previousFingerprint: previous },
    );
    if (written) {
      if (previous === undefined) this.counts.added += 1;
      else this.counts.updated += 1;
      return;
    }
    // The condition failed: someone wrote this transaction after we read it. Under our lease
    // that means the lease was lost; stop rather than overwrite a newer sync's work.
    throw new LeaseLostError(this.account.accountId);
  }

  /** Marks stored transactions of the window that the provider no longer returns. */
  private async markRemovals(): Promise<void> {
    const stored = await this.deps.transactions.listCreatedBetween(
      this.account.accountId,
      this.window.from,
      this.window.to,
    );
    const missing = stored.filter(
      (state) => state.removedAt === undefined && !this.seen.has(state.ref),
    );
    if (missing.length === 0) return;
    const changedLater = await this.refsChangedSince(this.window.to);
    // No time or no answer to look past the window: a later pass decides.
    if (changedLater === undefined) return;
    const removedAt = this.deps.clock.now().toISOString();
    for (const state of missing) {
      if (changedLater.has(state.ref)) continue;
      const marked = await this.deps.transactions.markRemoved(
        this.account.accountId,
        { ref: state.ref, createdAt: state.createdAt },
        removedAt,
        state.fingerprint,
      );
      if (marked) this.counts.removed += 1;
    }
  }

  /**
   * The references the provider changed at or after `since`, up to an overlap past our clock.
   * A stored transaction missing from the window may have changed after the window closed (a
   * PENDING that settled while we paged, or a provider clock ahead of ours): it left the window,
   * not the wallet. Asked only when something is missing, so an up-to-date account never pays.
   */
  private async refsChangedSince(since: string): Promise<Set<string> | undefined> {
    const to = new Date(this.deps.clock.now().getTime() + this.config.overlapMs).toISOString();
    const refs = new Set<string>();
    let pageToken: string | undefined;
    try {
      do {
        const remaining = this.request.remainingTimeMs();
        if (remaining < 2 * this.config.safetyMarginMs) return undefined;
        const page = await this.deps.provider.fetchStatement(
          { walletId: this.account.walletId, from: since, to, pageToken },
          {
            deadline: Date.now() + remaining - this.config.safetyMarginMs,
            onRequest: () => {
              this.counts.providerCalls += 1;
            },
          },
        );
        for (const tx of page.transactions) refs.add(tx.ref);
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined);
    } catch (error) {
      if (isProviderError(error)) return undefined;
      throw error;
    }
    return refs;
  }

  private async succeed(): Promise<SyncResult> {
    await this.markRemovals();
    const now = this.deps.clock.now();
    const activityScore = nextActivityScore(
      this.account.activityScore,
      this.counts.added + this.counts.updated,
    );
    const interval = syncIntervalMinutes({ ...this.account, activityScore }, this.config);
    const reauth = this.account.reauth;
    const patch: AccountPatch = {
      syncStatus: 'active',
      lastSyncedAt: now.toISOString(),
      lastAttemptAt: this.started.toISOString(),
      consecutiveFailures: 0,
      lastErrorCode: null,
      cursor: this.window.to,
      dueAt: nextDue(this.account, this.request.runId, this.started, interval),
      activityScore,
      // A good sync proves the link works again: close any open re-auth episode.
      ...(reauth && reauth.closedAt === undefined
        ? { reauth: { ...reauth, closedAt: now.toISOString() } }
        : {}),
      ...(this.balance
        ? { balanceMinor: this.balance.amountMinor, currency: this.balance.currency }
        : {}),
    };
    await this.deps.accounts.release(this.account.accountId, this.request.leaseOwner, patch);
    await this.record('synced');
    return { outcome: 'synced', counts: this.counts, needsAnotherPass: false };
  }

  /** Time ran short: keep the checkpoint, free the account, ask for another pass. */
  private async stopEarly(): Promise<SyncResult> {
    await this.deps.accounts.release(this.account.accountId, this.request.leaseOwner, {
      lastAttemptAt: this.started.toISOString(),
      ...(this.cursor !== undefined ? { cursor: this.cursor } : {}),
    });
    await this.record('partial');
    return { outcome: 'partial', counts: this.counts, needsAnotherPass: true };
  }

  private async fail(error: unknown): Promise<SyncResult> {
    if (error instanceof LeaseLostError) {
      await this.record('skipped', 'lease_lost');
      return {
        outcome: 'skipped',
        counts: this.counts,
        needsAnotherPass: false,
        skipReason: 'lease_lost',
      };
    }
    const failure = isProviderError(error) ? error : undefined;
    switch (failure?.failureClass) {
      case 'account_auth':
        return this.requireRelink(failure);
      case 'platform_auth':
        // Not this account's fault: no failure counted, nobody told; the caller stops the fleet.
        await this.releaseQuietly({ lastAttemptAt: this.started.toISOString() });
        await this.record('platform_auth_error', failure.sanitisedCode);
        throw error instanceof PlatformAuthError ? error : new PlatformAuthError(failure);
      case 'rate_limited': {
        await this.releaseQuietly({ lastAttemptAt: this.started.toISOString() });
        await this.record('rate_limited', failure.sanitisedCode);
        const retryAfterMs = failure.retryAfterMs ?? this.config.backoffBaseMs;
        return this.result('rate_limited', failure.sanitisedCode, retryAfterMs);
      }
      case 'permanent':
        return this.backOff('permanent_error', failure.sanitisedCode, true);
      default:
        // Transient provider failures and anything else (a throttled table, a reset socket).
        return this.backOff(
          'transient_error',
          failure?.sanitisedCode ?? internalCode(error),
          false,
        );
    }
  }

  /** Counts the failure and pushes the account's next attempt out by the backoff. */
  private async backOff(
    outcome: 'transient_error' | 'permanent_error',
    errorCode: string,
    permanent: boolean,
  ): Promise<SyncResult> {
    const failures = this.account.consecutiveFailures + 1;
    const now = this.deps.clock.now();
    const delay = permanent
      ? this.config.backoffCapMs
      : backoffDelayMs(failures, this.config, this.deps.random ?? Math.random);
    await this.releaseQuietly({
      consecutiveFailures: failures,
      lastErrorCode: errorCode,
      lastAttemptAt: this.started.toISOString(),
      dueAt: new Date(now.getTime() + delay).toISOString(),
      ...(permanent || failures >= this.config.maxConsecutiveFailures
        ? { syncStatus: 'error' as const }
        : {}),
    });
    await this.record(outcome, errorCode);
    return this.result(outcome, errorCode, delay);
  }

  /**
   * The wallet link expired or was revoked: mark the account, open a re-auth episode unless one
   * is already open, and ask for one push. The request goes out before the account is written:
   * if the write then fails, a retry computes the same episode number and the notifier's
   * idempotency drops the repeat; the other order could lose the push for good.
   */
  private async requireRelink(failure: ProviderError): Promise<SyncResult> {
    const now = this.deps.clock.now().toISOString();
    const current = this.account.reauth;
    const open = current !== undefined && current.closedAt === undefined;
    const reauth = open ? current : { episode: (current?.episode ?? 0) + 1, openedAt: now };
    if (!open && this.account.relinkPushes !== false) {
      const request: RelinkRequest = {
        accountId: this.account.accountId,
        ownerId: this.account.ownerId,
        episode: reauth.episode,
        reason: failure.code === 'LINK_REVOKED' ? 'link_revoked' : 'link_expired',
      };
      try {
        await this.deps.notifier.requestRelink(request);
      } catch (error) {
        await this.releaseQuietly({ lastAttemptAt: this.started.toISOString() });
        const code = internalCode(error, 'notify');
        await this.record('transient_error', code);
        return this.result('transient_error', code, this.config.backoffBaseMs);
      }
    }
    await this.releaseQuietly({
      syncStatus: 'auth_required',
      lastErrorCode: failure.sanitisedCode,
      lastAttemptAt: this.started.toISOString(),
      reauth: open
        ? reauth
        : {
            ...reauth,
            ...(this.account.relinkPushes === false ? { notifyResult: 'opted_out' as const } : {}),
          },
    });
    await this.record('auth_required', failure.sanitisedCode);
    return {
      ...this.result('auth_required', failure.sanitisedCode),
      ...(open ? {} : { openedEpisode: reauth.episode }),
    };
  }

  /** Releases the lease on a failure path; a lease we can no longer write simply expires. */
  private async releaseQuietly(patch: AccountPatch): Promise<void> {
    try {
      await this.deps.accounts.release(this.account.accountId, this.request.leaseOwner, patch);
    } catch {
      // The lease expires by itself; the outcome we report still stands.
    }
  }

  private result(outcome: SyncOutcome, errorCode?: string, retryAfterMs?: number): SyncResult {
    return { outcome, counts: this.counts, errorCode, retryAfterMs, needsAnotherPass: false };
  }

  /** One sync-run record per attempt; a failure to record never changes the outcome. */
  private async record(outcome: SyncOutcome, errorCode?: string): Promise<void> {
    const finished = this.deps.clock.now();
    const run: SyncRun = {
      accountId: this.account.accountId,
      runId: this.request.runId,
      trigger: this.request.trigger,
      startedAt: this.started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs: finished.getTime() - this.started.getTime(),
      outcome,
      counts: { ...this.counts },
      errorCode,
      windowFrom: this.window.from,
      windowTo: this.window.to,
    };
    try {
      await this.deps.runs.record(run);
    } catch {
      // The account item already carries the outcome; the run log is for people.
    }
  }
}

/**
 * Writes of one page are independent (one item each, each with its own condition), so they go
 * out a few at a time: a first sync of a busy wallet is bound by round trips, not by capacity.
 */
const WRITE_CONCURRENCY = 8;

/** Runs the tasks with at most `limit` in flight; after a failure no new task starts. */
async function inParallel(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < tasks.length && failure === undefined) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failure !== undefined) throw failure;
}

function maxUpdatedAt(transactions: ProviderTransaction[]): string | undefined {
  let max: string | undefined;
  for (const tx of transactions) {
    if (max === undefined || Date.parse(tx.updatedAt) > Date.parse(max)) max = tx.updatedAt;
  }
  return max;
}

/** A code for a failure that is not the provider's: its class name only, never its message. */
function internalCode(error: unknown, prefix = 'internal'): string {
  const name = error instanceof Error ? error.name : typeof error;
  return `${prefix}:${name.replace(/[^A-Za-z0-9_]/g, '').slice(0, 40) || 'Error'}`;
}
