/** Maps the domain model to the API's wire shapes (./contract). Pure functions of their input. */
import type { Account, StoredTransaction, SyncRun } from '../model';
import type {
  AccountActions,
  AccountView,
  SyncRequestView,
  SyncRunView,
  TransactionView,
} from './contract';

/** True while a sync holds an unexpired lease on the account. */
export function isSyncRunning(account: Account, now: Date): boolean {
  return (
    account.leaseOwner !== undefined &&
    account.leaseExpiresAt !== undefined &&
    Date.parse(account.leaseExpiresAt) > now.getTime()
  );
}

/** Milliseconds until the owner may queue another sync; 0 when they may now. */
export function manualSyncWaitMs(account: Account, now: Date, intervalSeconds: number): number {
  if (account.lastManualSyncAt === undefined) return 0;
  const availableAt = Date.parse(account.lastManualSyncAt) + intervalSeconds * 1000;
  return Math.max(0, availableAt - now.getTime());
}

/** What the app may offer for the account right now. */
export function accountActions(
  account: Account,
  now: Date,
  intervalSeconds: number,
): AccountActions {
  const relink = account.syncStatus === 'auth_required';
  const waitMs = relink ? 0 : manualSyncWaitMs(account, now, intervalSeconds);
  return {
    sync: !relink && waitMs === 0 && !isSyncRunning(account, now),
    relink,
    sync_available_at: waitMs > 0 ? new Date(now.getTime() + waitMs).toISOString() : null,
  };
}

export function toAccountView(account: Account, now: Date, intervalSeconds: number): AccountView {
  return {
    id: account.accountId,
    name: account.name,
    type: account.type,
    currency: account.currency,
    balance_minor: account.balanceMinor ?? null,
    sync_status: account.syncStatus,
    last_synced_at: account.lastSyncedAt ?? null,
    last_sync_attempt: account.lastAttemptAt ?? null,
    last_error_code: account.lastErrorCode ?? null,
    syncing: isSyncRunning(account, now),
    next_sync_at: account.syncStatus === 'auth_required' ? null : account.dueAt,
    settings: {
      sync_interval_minutes: account.syncIntervalMinutes ?? null,
      relink_pushes: account.relinkPushes !== false,
    },
    actions: accountActions(account, now, intervalSeconds),
  };
}

export function toSyncRunView(run: SyncRun): SyncRunView {
  return {
    run_id: run.runId,
    trigger: run.trigger,
    outcome: run.outcome,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    duration_ms: run.durationMs,
    counts: {
      added: run.counts.added,
      updated: run.counts.updated,
      unchanged: run.counts.unchanged,
      removed: run.counts.removed,
    },
    error_code: run.errorCode ?? null,
  };
}

export function toTransactionView(transaction: StoredTransaction): TransactionView {
  return {
    ref: transaction.ref,
    external_id: transaction.externalId ?? null,
    amount_minor: transaction.amountMinor,
    currency: transaction.currency,
    direction: transaction.direction,
    status: transaction.status,
    counterparty: transaction.counterparty ?? null,
    description: transaction.description ?? null,
    created_at: transaction.createdAt,
    updated_at: transaction.updatedAt,
    removed_at: transaction.removedAt ?? null,
  };
}

export function queuedView(
  accountId: string,
  runId: string,
  trigger: 'manual' | 'relink',
  requestedAt: string,
): SyncRequestView {
  return {
    account_id: accountId,
    status: 'queued',
    run_id: runId,
    trigger,
    requested_at: requestedAt,
  };
}

export function runningView(accountId: string, requestedAt: string): SyncRequestView {
  return {
    account_id: accountId,
    status: 'running',
    run_id: null,
    trigger: null,
    requested_at: requestedAt,
  };
}
