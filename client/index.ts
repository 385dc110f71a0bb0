/** The momo-sync app client: typed calls, an offline "Sync now" queue and sync-state helpers. */
export {
  type ClientOptions,
  MomoSyncClient,
  type PageQuery,
  parseRetryAfter,
  type RetryPolicy,
  type TokenProvider,
  type TransactionQuery,
} from './api-client';
export { ApiError, isApiError, isNetworkError, NetworkError } from './errors';
export {
  type Connectivity,
  type FlushReport,
  type KeyValueStorage,
  MemoryStorage,
  type QueuedSync,
  type SyncAttempt,
  SyncOutbox,
  type SyncOutboxOptions,
} from './outbox';
export {
  describeSyncState,
  relativeTime,
  type SyncAction,
  type SyncStateView,
  type SyncTone,
} from './sync-state';
export type * from './types';
export {
  answersRequest,
  type WaitForSyncOptions,
  type WaitForSyncResult,
  waitForSync,
} from './wait-for-sync';
