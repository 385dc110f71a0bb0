/**
 * The wire shapes of the app's HTTP API, exactly as docs/openapi.yaml describes them. Field
 * names are snake_case on the wire; the domain model stays camelCase and ./views maps between
 * them, so a rename in the model cannot leak into the app's contract unnoticed.
 */

export type ApiSyncStatus = 'active' | 'auth_required' | 'error';

/** What the app may offer next for an account. */
export interface AccountActions {
  /** "Sync now" may be offered. */
  sync: boolean;
  /** The wallet link must be renewed before anything else. */
  relink: boolean;
  /** While the manual-sync interval runs: when "Sync now" comes back. */
  sync_available_at: string | null;
}

export interface AccountSettingsView {
  /** The owner's sync interval, or null for the operators' default. */
  sync_interval_minutes: number | null;
  relink_pushes: boolean;
}

export interface AccountView {
  id: string;
  name: string;
  type: 'momo_wallet';
  currency: string;
  /** Integer minor units of `currency`; null until the first good sync. */
  balance_minor: number | null;
  sync_status: ApiSyncStatus;
  last_synced_at: string | null;
  last_sync_attempt: string | null;
  /** Sanitised code of the last failure, e.g. `transient:SERVICE_UNAVAILABLE`. */
  last_error_code: string | null;
  /** A sync holds the account right now. */
  syncing: boolean;
  /** When the scheduler syncs the account next; null while it waits for a re-link. */
  next_sync_at: string | null;
  settings: AccountSettingsView;
  actions: AccountActions;
}

export interface AccountList {
  items: AccountView[];
}

export type ApiTrigger = 'schedule' | 'manual' | 'relink' | 'continuation';

export type ApiSyncOutcome =
  | 'synced'
  | 'partial'
  | 'skipped'
  | 'auth_required'
  | 'transient_error'
  | 'rate_limited'
  | 'permanent_error'
  | 'platform_auth_error';

export interface SyncRunView {
  run_id: string;
  trigger: ApiTrigger;
  outcome: ApiSyncOutcome;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  counts: { added: number; updated: number; unchanged: number; removed: number };
  error_code: string | null;
}

export interface TransactionView {
  ref: string;
  external_id: string | null;
  amount_minor: number;
  currency: string;
  direction: 'CREDIT' | 'DEBIT';
  status: 'PENDING' | 'SUCCESSFUL' | 'FAILED';
  /** Masked to its last four digits. */
  counterparty: string | null;
  description: string | null;
  created_at: string;
  updated_at: string;
  /** Set when the provider stopped reporting the transaction. */
  removed_at: string | null;
}

/** One page of a list, newest first; `next_cursor` is opaque and null on the last page. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * The answer to a sync request: `queued` (202) names the run the app can wait for, `running`
 * (200) says a sync already holds the account and nothing new was queued.
 */
export interface SyncRequestView {
  account_id: string;
  status: 'queued' | 'running';
  run_id: string | null;
  trigger: 'manual' | 'relink' | null;
  requested_at: string;
}

export interface RelinkView {
  account: AccountView;
  sync: SyncRequestView;
}

export interface RelinkBody {
  link_reference: string;
}

export interface SettingsBody {
  sync_interval_minutes?: number | null;
  relink_pushes?: boolean;
}

/** Every `error.code` the API writes; the app may branch on them. */
export const API_ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'not_found',
  'relink_required',
  'sync_running',
  'conflict',
  'sync_rate_limited',
  'payload_too_large',
  'unsupported_media_type',
  'internal_error',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** The one error shape of every response the api function writes. */
export interface ErrorBody {
  error: { code: ApiErrorCode; message: string };
}
