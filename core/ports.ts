/**
 * The narrow ports the domain code talks through. Adapters implement them over DynamoDB, SQS,
 * the MoMo HTTP API and OneSignal; tests and the local stack use the very same adapters against
 * local engines, so only these interfaces separate the rules from the wire.
 */
import type { FailureClass } from './errors';
import type {
  Account,
  RelinkRequest,
  StatementPage,
  StatementQuery,
  StoredTransaction,
  SyncMessage,
  SyncRun,
} from './model';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Fields the engine sets when it gives an account back; `null` removes the attribute. */
export type AccountPatch = {
  [K in keyof Omit<Account, 'accountId' | 'ownerId' | 'leaseOwner' | 'leaseExpiresAt'>]?:
    | Account[K]
    | null;
};

export interface LeaseRequest {
  accountId: string;
  /** Unique per sync attempt (the Lambda request id and the message id). */
  owner: string;
  now: Date;
  leaseMs: number;
  /**
   * Acquire only when `dueAt` is at or before this instant. Scheduled syncs pass it so that a
   * message delivered twice, or queued by a retried fan-out, finds the account already synced
   * and does nothing; manual syncs omit it.
   */
  dueBy?: string;
}

export type LeaseResult =
  | { acquired: true; account: Account }
  | { acquired: false; reason: 'busy' | 'not_due' | 'not_found' | 'auth_required' };

/** The account operations the sync engine needs; every write after the lease is fenced by it. */
export interface AccountLeases {
  /**
   * One conditional update: free (or expired) lease, not `auth_required`, due when asked. A lost
   * race is a result, not an error.
   */
  acquireLease(request: LeaseRequest): Promise<LeaseResult>;
  /** Moves the cursor and extends the lease; throws {@link LeaseLostError} if it was taken. */
  checkpoint(
    accountId: string,
    owner: string,
    cursor: string,
    leaseExpiresAt: string,
  ): Promise<void>;
  /** Applies the final patch and removes the lease in one conditional update. */
  release(accountId: string, owner: string, patch: AccountPatch): Promise<void>;
}

/** Thrown when a fenced write finds another owner (or none) on the lease. */
export class LeaseLostError extends Error {
  constructor(readonly accountId: string) {
    super('lease lost');
    this.name = 'LeaseLostError';
  }
}

/** What the engine knows of a stored transaction before it decides to write. */
export interface StoredTransactionState {
  ref: string;
  createdAt: string;
  fingerprint: string;
  removedAt?: string;
}

export interface TransactionKey {
  ref: string;
  createdAt: string;
}

export type WriteExpectation = { kind: 'new' } | { kind: 'changed'; previousFingerprint: string };

export interface TransactionStore {
  /** Reads the current state of the given transactions (absent ones are missing from the map). */
  getStates(
    accountId: string,
    keys: TransactionKey[],
  ): Promise<Map<string, StoredTransactionState>>;
  /**
   * Conditional write: `new` only if the reference is not stored yet, `changed` only if the
   * stored fingerprint is still the one read. Returns false when the condition failed.
   */
  write(transaction: StoredTransaction, expect: WriteExpectation): Promise<boolean>;
  /** Stored transactions created in [from, to], for the removal check of a re-fetched window. */
  listCreatedBetween(
    accountId: string,
    from: string,
    to: string,
  ): Promise<StoredTransactionState[]>;
  /** Marks a transaction removed (never deletes it); conditional on its fingerprint. */
  markRemoved(
    accountId: string,
    key: TransactionKey,
    removedAt: string,
    fingerprint: string,
  ): Promise<boolean>;
}

export interface SyncRunStore {
  record(run: SyncRun): Promise<void>;
}

/** A failed provider request the client is about to try again. */
export interface RetryInfo {
  failureClass: FailureClass;
  /** How long the client waits first (a 429's Retry-After, or the backoff). */
  delayMs: number;
}

export interface FetchOptions {
  /** Epoch milliseconds after which the client must stop retrying and fail. */
  deadline?: number;
  /** Called once per HTTP request the client makes, token requests included. */
  onRequest?: () => void;
  /** Called before each wait between two attempts; feeds the ProviderErrors metrics. */
  onRetry?: (retry: RetryInfo) => void;
}

/** The MoMo wallet-statement provider (see docs/momo-provider-contract.md). */
export interface WalletProvider {
  /**
   * One page of the statement. Throws a classified `ProviderError` when the page cannot be had
   * after the client's own retries.
   */
  fetchStatement(query: StatementQuery, options?: FetchOptions): Promise<StatementPage>;
}

export interface Notifier {
  /** Queues one re-link push request; the notifier makes delivery exactly-once per episode. */
  requestRelink(request: RelinkRequest): Promise<void>;
}

export interface SyncQueue {
  /** Queues sync messages; returns the ones that could not be queued after retries. */
  enqueue(messages: SyncMessage[]): Promise<{ failed: SyncMessage[]; requests: number }>;
}
