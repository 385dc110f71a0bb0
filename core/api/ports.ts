/**
 * What the API's domain needs from storage and the queue. The DynamoDB adapters satisfy these
 * shapes as they are; tests may hand in anything else that keeps the same conditional semantics.
 */
import type { Account, StoredTransaction, SyncRun } from '../model';
import type { AccountPatch, Clock, SyncQueue } from '../ports';

/** A DynamoDB key as a store hands it back for paging. */
export type PageKey = Record<string, unknown>;

/** A precondition of an account update: an attribute (dotted for map members) equals or exists. */
export type AccountCondition =
  | { path: string; equals: string | number | boolean }
  | { path: string; exists: boolean };

export type AccountUpdate =
  | { updated: true; account: Account }
  | { updated: false; account?: Account };

export interface ApiAccountStore {
  get(accountId: string, consistent?: boolean): Promise<Account | undefined>;
  listByOwner(ownerId: string): Promise<Account[]>;
  /** One conditional update; on a refused condition the account as it is now, if any. */
  update(
    accountId: string,
    patch: AccountPatch,
    conditions?: AccountCondition[],
  ): Promise<AccountUpdate>;
}

export interface TransactionReader {
  /** Newest first; `from`/`to` bound `createdAt`, both inclusive. */
  listByAccount(
    accountId: string,
    request: { from?: string; to?: string; limit: number; startKey?: PageKey },
  ): Promise<{ items: StoredTransaction[]; lastKey?: PageKey }>;
}

export interface SyncRunReader {
  /** Newest first. */
  listByAccount(
    accountId: string,
    request: { limit: number; startKey?: PageKey },
  ): Promise<{ items: SyncRun[]; lastKey?: PageKey }>;
}

export interface ApiDeps {
  accounts: ApiAccountStore;
  transactions: TransactionReader;
  syncRuns: SyncRunReader;
  /** The manual queue: syncs the owner asked for. */
  manualQueue: SyncQueue;
  clock: Clock;
  /** A fresh run id for a queued sync. */
  newRunId: () => string;
}

/** The operators' settings the API enforces (lib/config.ts `api` and `sync`). */
export interface ApiSettings {
  /** Least time between two syncs an owner may queue for one account. */
  manualSyncIntervalSeconds: number;
  /** Bounds of an owner's `sync_interval_minutes`; the engine clamps to the same ones. */
  minSyncIntervalMinutes: number;
  maxSyncIntervalMinutes: number;
}
