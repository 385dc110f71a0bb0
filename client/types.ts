/**
 * The wire shapes of the momo-sync app API (docs/openapi.yaml), for the app. This folder has
 * no dependencies, so an app can take it as it is; test/client/contract.test.ts keeps these
 * types equal to the server's own.
 */

export type SyncStatus = 'active' | 'auth_required' | 'error';

export interface AccountActions {
  sync: boolean;
  relink: boolean;
  sync_available_at: string | null;
}

export interface AccountSettings {
  sync_interval_minutes: number | null;
  relink_pushes: boolean;
}

export interface Account {
  id: string;
  name: string;
  type: 'momo_wallet';
  currency: string;
  balance_minor: number | null;
  sync_status: SyncStatus;
  last_synced_at: string | null;
  last_sync_attempt: string | null;
  last_error_code: string | null;
  syncing: boolean;
  next_sync_at: string | null;
  settings: AccountSettings;
  actions: AccountActions;
}

export interface AccountList {
  items: Account[];
}

export type SyncTrigger = 'schedule' | 'manual' | 'relink' | 'continuation';

export type SyncOutcome =
  | 'synced'
  | 'partial'
  | 'skipped'
  | 'auth_required'
  | 'transient_error'
  | 'rate_limited'
  | 'permanent_error'
  | 'platform_auth_error';

export interface SyncRun {
  run_id: string;
  trigger: SyncTrigger;
  outcome: SyncOutcome;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  counts: { added: number; updated: number; unchanged: number; removed: number };
  error_code: string | null;
}

export interface Transaction {
  ref: string;
  external_id: string | null;
  amount_minor: number;
  currency: string;
  direction: 'CREDIT' | 'DEBIT';
  status: 'PENDING' | 'SUCCESSFUL' | 'FAILED';
  counterparty: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
  removed_at: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface SyncRequest {
  account_id: string;
  status: 'queued' | 'running';
  run_id: string | null;
  trigger: 'manual' | 'relink' | null;
  requested_at: string;
}

export interface RelinkResult {
  account: Account;
  sync: SyncRequest;
}

export interface SettingsUpdate {
  sync_interval_minutes?: number | null;
  relink_pushes?: boolean;
}

export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'relink_required'
  | 'sync_running'
  | 'conflict'
  | 'sync_rate_limited'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'internal_error';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
