/**
 * The app API's domain: what each route does, over the ports in ./ports. It knows nothing of
 * HTTP beyond the typed errors of ./errors; lambdas/api maps requests and results around it.
 *
 * Ownership: every operation reads the account first and answers 404 when it is missing or
 * belongs to someone else, so a caller cannot tell another user's account from no account.
 */
import type { Account, SyncMessage } from '../model';
import type { AccountPatch } from '../ports';
import type {
  AccountList,
  AccountView,
  Page,
  RelinkBody,
  RelinkView,
  SettingsBody,
  SyncRequestView,
  SyncRunView,
  TransactionView,
} from './contract';
import { decodeCursor, encodeCursor } from './cursor';
import {
  accountNotFound,
  conflict,
  invalidRequest,
  relinkRequired,
  syncRateLimited,
  syncRunning,
} from './errors';
import type { AccountCondition, ApiDeps, ApiSettings } from './ports';
import type { PageQuery, TransactionQuery } from './validation';
import {
  isSyncRunning,
  manualSyncWaitMs,
  queuedView,
  runningView,
  toAccountView,
  toSyncRunView,
  toTransactionView,
} from './views';

/**
 * Conditional updates that lose a race re-read and decide again; a few rounds settle any honest
 * contention (one owner, one account), so running out of them means something is looping.
 */
const MAX_ROUNDS = 3;

/** The operations behind the app's routes; one instance per process. */
export class AccountsApi {
  constructor(
    private readonly deps: ApiDeps,
    private readonly settings: ApiSettings,
  ) {}

  /** The caller's accounts, ordered by id. */
  async listAccounts(ownerId: string): Promise<AccountList> {
    const now = this.deps.clock.now();
    const accounts = await this.deps.accounts.listByOwner(ownerId);
    return { items: accounts.map((account) => this.view(account, now)) };
  }

  /**
   * Queues a manual sync, at most one per account per interval. The interval is enforced by a
   * conditional write of `lastManualSyncAt` on the value just read: of two racing requests only
   * one can move it, the other re-reads and gets its 429.
   */
  async requestSync(ownerId: string, accountId: string): Promise<SyncRequestView> {
    let account = await this.owned(ownerId, accountId, true);
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = this.deps.clock.now();
      const nowIso = now.toISOString();
      if (account.syncStatus === 'auth_required') throw relinkRequired();
      // The running sync will fetch everything up to its own end; a second one adds nothing.
      if (isSyncRunning(account, now)) return runningView(accountId, nowIso);
      this.checkInterval(account, now);
      const result = await this.deps.accounts.update(accountId, { lastManualSyncAt: nowIso }, [
        { path: 'ownerId', equals: ownerId },
        { path: 'syncStatus', equals: account.syncStatus },
        lastManualSyncCondition(account),
      ]);
      if (result.updated) {
        const runId = await this.enqueue(account, 'manual', nowIso);
        return queuedView(accountId, runId, 'manual', nowIso);
      }
      account = this.stillOwned(result.account, ownerId);
    }
    throw conflict();
  }

  /** One page of the account's sync runs, newest first. */
  async listSyncRuns(
    ownerId: string,
    accountId: string,
    query: PageQuery,
  ): Promise<Page<SyncRunView>> {
    await this.owned(ownerId, accountId, false);
    const startKey = query.cursor ? decodeCursor(query.cursor, accountId) : undefined;
    const page = await this.deps.syncRuns.listByAccount(accountId, {
      limit: query.limit,
      ...(startKey ? { startKey } : {}),
    });
    return { items: page.items.map(toSyncRunView), next_cursor: encodeCursor(page.lastKey) };
  }

  /** One page of the account's transactions, newest first, within `from`/`to` when given. */
  async listTransactions(
    ownerId: string,
    accountId: string,
    query: TransactionQuery,
  ): Promise<Page<TransactionView>> {
    await this.owned(ownerId, accountId, false);
    const startKey = query.cursor ? decodeCursor(query.cursor, accountId) : undefined;
    // DynamoDB refuses a start key outside the key condition; that is the caller's mistake
    // (a cursor reused with another range), so it is a 400 here rather than a 500 there.
    if (
      startKey &&
      ((query.from !== undefined && startKey.sk < query.from) ||
        (query.to !== undefined && startKey.sk > `${query.to}#\uffff`))
    ) {
      throw invalidRequest('cursor does not belong to this from/to range.');
    }
    const page = await this.deps.transactions.listByAccount(accountId, {
      limit: query.limit,
      ...(query.from ? { from: query.from } : {}),
      ...(query.to ? { to: query.to } : {}),
      ...(startKey ? { startKey } : {}),
    });
    return { items: page.items.map(toTransactionView), next_cursor: encodeCursor(page.lastKey) };
  }

  /**
   * Records the link reference the app's re-link flow produced, closes the open re-auth episode,
   * sets the account back to `active` and queues a `relink` sync. Re-linking a healthy account
   * is just a sync with a new link, so it is rate limited like one.
   */
  async relink(ownerId: string, accountId: string, body: RelinkBody): Promise<RelinkView> {
    let account = await this.owned(ownerId, accountId, true);
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const now = this.deps.clock.now();
      const nowIso = now.toISOString();
      // A sync holding the old link could release after us and put its verdict back.
      if (isSyncRunning(account, now)) throw syncRunning();
      if (account.syncStatus !== 'auth_required') this.checkInterval(account, now);
      const episodeOpen = account.reauth !== undefined && account.reauth.closedAt === undefined;
      const patch: AccountPatch = {
        walletId: body.link_reference,
        syncStatus: 'active',
        consecutiveFailures: 0,
        lastErrorCode: null,
        dueAt: nowIso,
        lastManualSyncAt: nowIso,
        ...(episodeOpen && account.reauth
          ? { reauth: { ...account.reauth, closedAt: nowIso } }
          : {}),
      };
      // `updatedAt` changes with every write, so this holds only if nothing moved since the read.
      const result = await this.deps.accounts.update(accountId, patch, [
        { path: 'ownerId', equals: ownerId },
        { path: 'updatedAt', equals: account.updatedAt },
      ]);
      if (result.updated) {
        // Should the queue refuse, the link stays recorded and `dueAt` puts the account in the
        // next scheduled run; only the rate-limit mark is taken back, so a retry goes through.
        const runId = await this.enqueue(account, 'relink', nowIso);
        return {
          account: this.view(result.account, now),
          sync: queuedView(accountId, runId, 'relink', nowIso),
        };
      }
      account = this.stillOwned(result.account, ownerId);
    }
    throw conflict();
  }

  /**
   * Stores the owner's preferences. A shorter interval also brings the next scheduled sync
   * forward (never into an account's backoff), so the change shows without waiting a full day.
   */
  async updateSettings(
    ownerId: string,
    accountId: string,
    body: SettingsBody,
  ): Promise<AccountView> {
    const account = await this.owned(ownerId, accountId, true);
    const now = this.deps.clock.now();
    const patch: AccountPatch = {};
    if (body.relink_pushes !== undefined) patch.relinkPushes = body.relink_pushes;
    if (body.sync_interval_minutes !== undefined) {
      patch.syncIntervalMinutes = body.sync_interval_minutes;
      const dueAt = earlierDueAt(account, body.sync_interval_minutes, now);
      if (dueAt !== undefined) patch.dueAt = dueAt;
    }
    const result = await this.deps.accounts.update(accountId, patch, [
      { path: 'ownerId', equals: ownerId },
    ]);
    if (!result.updated) throw accountNotFound();
    return this.view(result.account, now);
  }

  private view(account: Account, now: Date): AccountView {
    return toAccountView(account, now, this.settings.manualSyncIntervalSeconds);
  }

  private async owned(ownerId: string, accountId: string, consistent: boolean): Promise<Account> {
    const account = await this.deps.accounts.get(accountId, consistent);
    return this.stillOwned(account, ownerId);
  }

  private stillOwned(account: Account | undefined, ownerId: string): Account {
    if (account === undefined || account.ownerId !== ownerId) throw accountNotFound();
    return account;
  }

  private checkInterval(account: Account, now: Date): void {
    const interval = this.settings.manualSyncIntervalSeconds;
    const waitMs = manualSyncWaitMs(account, now, interval);
    if (waitMs > 0) throw syncRateLimited(Math.ceil(waitMs / 1000), interval);
  }

  /**
   * Queues the sync. When the queue refuses it, the rate-limit mark is put back (only if it is
   * still ours) so that the owner's retry is not answered 429 for a sync that never ran.
   */
  private async enqueue(
    before: Account,
    trigger: 'manual' | 'relink',
    markedAt: string,
  ): Promise<string> {
    const message: SyncMessage = {
      accountId: before.accountId,
      trigger,
      runId: this.deps.newRunId(),
    };
    let failure: unknown = new Error('sync message not queued');
    try {
      const { failed } = await this.deps.manualQueue.enqueue([message]);
      if (failed.length === 0) return message.runId;
    } catch (error) {
      failure = error;
    }
    await this.deps.accounts.update(
      before.accountId,
      { lastManualSyncAt: before.lastManualSyncAt ?? null },
      [{ path: 'lastManualSyncAt', equals: markedAt }],
    );
    throw failure;
  }
}

function lastManualSyncCondition(account: Account): AccountCondition {
  return account.lastManualSyncAt === undefined
    ? { path: 'lastManualSyncAt', exists: false }
    : { path: 'lastManualSyncAt', equals: account.lastManualSyncAt };
}

/**
 * The due time a new interval implies, when it is earlier than the current one: counted from
 * the last good sync, never before now, and left alone while the account backs off or waits
 * for a re-link (its `dueAt` then means something else).
 */
function earlierDueAt(account: Account, intervalMinutes: number | null, now: Date) {
  if (intervalMinutes === null) return undefined;
  if (account.syncStatus === 'auth_required' || account.consecutiveFailures > 0) return undefined;
  const from = account.lastSyncedAt ? Date.parse(account.lastSyncedAt) : now.getTime();
  const due = Math.max(now.getTime(), from + intervalMinutes * 60_000);
  return due < Date.parse(account.dueAt) ? new Date(due).toISOString() : undefined;
}
