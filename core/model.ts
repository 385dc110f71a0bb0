/**
 * The domain model of momo-sync. Plain data: no AWS SDK, no I/O. Every time is a UTC ISO-8601
 * string with milliseconds (`Date.prototype.toISOString()`), every amount integer minor units.
 */

/** Sync state of a linked wallet as the app and operators see it. */
export type SyncStatus = 'active' | 'auth_required' | 'error';

/** What started a sync. */
export type Trigger = 'schedule' | 'manual' | 'relink' | 'continuation';

export const TRIGGERS: readonly Trigger[] = ['schedule', 'manual', 'relink', 'continuation'];

/** MTN's transaction statuses, plus our own mark for one the provider stopped returning. */
export type TransactionStatus = 'PENDING' | 'SUCCESSFUL' | 'FAILED';

export type Direction = 'CREDIT' | 'DEBIT';

/** A re-auth episode: opened when the wallet link fails, closed by a re-link or a good sync. */
export interface ReauthEpisode {
  /** Increments with every new episode of the account; part of the push idempotency key. */
  episode: number;
  openedAt: string;
  /** Set once the owner was told; a second failing sync within the episode sends nothing. */
  notifiedAt?: string;
  /** `sent`, or `no_recipients` when the owner had no device to push to. */
  notifyResult?: 'sent' | 'no_recipients' | 'opted_out';
  closedAt?: string;
}

/** A linked MoMo wallet and its sync bookkeeping (one item in the accounts table). */
export interface Account {
  accountId: string;
  /** The user who linked the wallet: the JWT subject and the OneSignal external id. */
  ownerId: string;
  name: string;
  type: 'momo_wallet';
  /** The provider's wallet link reference (consent id); never a phone number. */
  walletId: string;
  currency: string;
  balanceMinor?: number;
  syncStatus: SyncStatus;
  lastSyncedAt?: string;
  lastAttemptAt?: string;
  /**
   * High-water mark: the provider `updatedAt` up to which every transaction has been stored.
   * The next window starts at `cursor - overlap`.
   */
  cursor?: string;
  consecutiveFailures: number;
  /** Earliest time the scheduler may sync the account again (due time or backoff). */
  dueAt: string;
  lastErrorCode?: string;
  leaseOwner?: string;
  leaseExpiresAt?: string;
  reauth?: ReauthEpisode;
  /** The owner's sync interval (`PATCH /accounts/{id}/settings`); absent means the default. */
  syncIntervalMinutes?: number;
  /**
   * An operator's override of this account's interval (`npm run ops -- frequency --account`),
   * kept apart from the owner's setting so that neither ever overwrites the other.
   */
  operatorIntervalMinutes?: number;
  /** Whether the owner wants re-link pushes (default true). */
  relinkPushes?: boolean;
  /** When the owner last had a sync queued through the API; the manual-sync rate limit reads it. */
  lastManualSyncAt?: string;
  /** Moving average of new or changed transactions per sync, for the adaptive frequency. */
  activityScore?: number;
  createdAt: string;
  updatedAt: string;
}

/** A transaction as the provider client hands it to the engine, already normalised. */
export interface ProviderTransaction {
  /** MTN's `financialTransactionId`: stable, unique per wallet. */
  ref: string;
  externalId?: string;
  amountMinor: number;
  currency: string;
  direction: Direction;
  status: TransactionStatus;
  /** Counterparty with all but the last four digits masked. */
  counterparty?: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
}

/** A stored transaction (one item in the transactions table). */
export interface StoredTransaction extends ProviderTransaction {
  accountId: string;
  /** Content fingerprint of the provider fields; a write happens only when it changes. */
  fingerprint: string;
  /** Set when the provider stopped returning the transaction inside a window it re-fetched. */
  removedAt?: string;
  firstSeenAt: string;
  lastChangedAt: string;
}

/** One page of a wallet statement. */
export interface StatementPage {
  transactions: ProviderTransaction[];
  balance: { amountMinor: number; currency: string };
  nextPageToken?: string;
}

export interface StatementQuery {
  walletId: string;
  /** Inclusive lower bound on the provider's `updatedAt`. */
  from: string;
  /** Exclusive upper bound on the provider's `updatedAt`. */
  to: string;
  pageToken?: string;
}

export type SyncOutcome =
  | 'synced'
  | 'partial'
  | 'skipped'
  | 'auth_required'
  | 'transient_error'
  | 'rate_limited'
  | 'permanent_error'
  | 'platform_auth_error';

export interface SyncCounts {
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  pages: number;
  providerCalls: number;
}

/** One record per sync attempt (sync-runs table, expiring by TTL). */
export interface SyncRun {
  accountId: string;
  runId: string;
  trigger: Trigger;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  outcome: SyncOutcome;
  counts: SyncCounts;
  /** Sanitised error code (taxonomy class and provider code), never a message or payload. */
  errorCode?: string;
  windowFrom?: string;
  windowTo?: string;
}

/** What the engine asks the notifier to do when a re-auth episode opens. */
export interface RelinkRequest {
  accountId: string;
  ownerId: string;
  episode: number;
  reason: 'link_expired' | 'link_revoked' | 'link_invalid';
}

/** The message a sync queue carries. */
export interface SyncMessage {
  accountId: string;
  trigger: Trigger;
  /** The fan-out run or API request that queued it. */
  runId: string;
}
