/**
 * The one list of momo-sync's custom metrics, their dimensions and the log lines the saved
 * queries read. The handlers emit through these names and lib/constructs/monitoring.ts graphs and
 * alarms on them, so a renamed metric breaks a test instead of silently flattening a graph.
 * Like resources.ts it imports nothing from aws-cdk-lib or Powertools: both sides load it.
 *
 * Every dimension has a handful of values (a trigger, an outcome, a failure class); an account,
 * user or run id would make one metric per account and is never a dimension.
 */
import type { FailureClass } from '../core/errors';
import type { SyncOutcome, Trigger } from '../core/model';

/** Namespace of every custom metric momo-sync emits. */
export const METRICS_NAMESPACE = 'MomoSync';

/** Powertools service names: the `service` dimension of every metric and key of every log line. */
export const SERVICES = {
  fanOut: 'fan-out',
  syncAccount: 'sync-account',
  notifier: 'notifier',
  api: 'api',
} as const;

export type ServiceName = (typeof SERVICES)[keyof typeof SERVICES];

/** Dimension names; `service` is the one Powertools adds to every metric by itself. */
export const DIMENSIONS = {
  service: 'service',
  trigger: 'trigger',
  outcome: 'outcome',
  errorClass: 'errorClass',
} as const;

/** Metric names, by what they count. */
export const METRICS = {
  /** One per finished sync; dimensions (trigger, outcome) and (outcome). */
  syncOutcome: 'SyncOutcome',
  /** Milliseconds from lease to release of one sync. */
  syncDuration: 'SyncDuration',
  transactionsAdded: 'TransactionsAdded',
  transactionsUpdated: 'TransactionsUpdated',
  transactionsRemoved: 'TransactionsRemoved',
  /** HTTP requests to the provider, token requests included. */
  providerCalls: 'ProviderCalls',
  /** Provider failures, retried ones included; dimension errorClass. */
  providerErrors: 'ProviderErrors',
  /** Times the client waited out a 429's Retry-After instead of giving the message back. */
  rateLimitWaits: 'RateLimitWaits',
  /** Re-auth episodes opened: wallets that now need a re-link. */
  reauthEpisodesOpened: 'ReauthEpisodesOpened',
  /** Messages a consumer moved to its DLQ with a reason. */
  deadLettered: 'DeadLettered',
  /** Batches stopped because the provider refused our own credentials. */
  platformAuthFailures: 'PlatformAuthFailures',
  /** Scan-segment tasks a fan-out run queued. */
  segmentsPlanned: 'SegmentsPlanned',
  /** Sync messages the fan-out queued. */
  accountsEnqueued: 'AccountsEnqueued',
  /** Sync messages the fan-out could not queue after its retries. */
  enqueueFailures: 'EnqueueFailures',
  /** Re-link pushes OneSignal accepted. */
  pushesSent: 'PushesSent',
  /** Re-link requests whose owner had no device to push to. */
  pushesNoRecipients: 'PushesNoRecipients',
  /** Re-link pushes that failed (retried or dead-lettered). */
  pushFailures: 'PushFailures',
  /** 1 each time a function finds or leaves the provider circuit open; see the construct. */
  circuitOpen: 'CircuitOpen',
  /** Manual syncs the API queued, and those it found already running. */
  manualSyncQueued: 'ManualSyncQueued',
  manualSyncAlreadyRunning: 'ManualSyncAlreadyRunning',
  /** Manual syncs refused because the account asked for one within the interval. */
  manualSyncRateLimited: 'ManualSyncRateLimited',
  /** Re-links the API recorded. */
  relinkRecorded: 'RelinkRecorded',
  /** Requests the API answered with a 500: the handler catches them, so Lambda sees no error. */
  apiServerErrors: 'ApiServerErrors',
} as const;

export type MetricName = (typeof METRICS)[keyof typeof METRICS];

/** Which service emits each metric: the dashboard and alarms ask for exactly that series. */
export const METRIC_SOURCES: Record<MetricName, ServiceName> = {
  SyncOutcome: SERVICES.syncAccount,
  SyncDuration: SERVICES.syncAccount,
  TransactionsAdded: SERVICES.syncAccount,
  TransactionsUpdated: SERVICES.syncAccount,
  TransactionsRemoved: SERVICES.syncAccount,
  ProviderCalls: SERVICES.syncAccount,
  ProviderErrors: SERVICES.syncAccount,
  RateLimitWaits: SERVICES.syncAccount,
  ReauthEpisodesOpened: SERVICES.syncAccount,
  DeadLettered: SERVICES.syncAccount,
  PlatformAuthFailures: SERVICES.syncAccount,
  SegmentsPlanned: SERVICES.fanOut,
  AccountsEnqueued: SERVICES.fanOut,
  EnqueueFailures: SERVICES.fanOut,
  PushesSent: SERVICES.notifier,
  PushesNoRecipients: SERVICES.notifier,
  PushFailures: SERVICES.notifier,
  CircuitOpen: SERVICES.syncAccount,
  ManualSyncQueued: SERVICES.api,
  ManualSyncAlreadyRunning: SERVICES.api,
  ManualSyncRateLimited: SERVICES.api,
  RelinkRecorded: SERVICES.api,
  ApiServerErrors: SERVICES.api,
};

/** Every outcome, in the order the dashboard stacks them. */
export const SYNC_OUTCOMES: readonly SyncOutcome[] = [
  'synced',
  'partial',
  'skipped',
  'auth_required',
  'rate_limited',
  'transient_error',
  'permanent_error',
  'platform_auth_error',
];

/**
 * Outcomes that count against fleet health. `partial` (a continuation follows) and `skipped` (a
 * duplicate or a race) are neither success nor failure; `auth_required` is the owner's link, not
 * the fleet, and has its own graph.
 */
export const FAILED_OUTCOMES: readonly SyncOutcome[] = [
  'rate_limited',
  'transient_error',
  'permanent_error',
  'platform_auth_error',
];

/** The failure classes of core/errors.ts: the values of the errorClass dimension. */
export const ERROR_CLASSES: readonly FailureClass[] = [
  'account_auth',
  'platform_auth',
  'rate_limited',
  'transient',
  'permanent',
];

/** The fixed messages of the structured log lines the saved Logs Insights queries read. */
export const LOG_MESSAGES = {
  /** Consumer, one per sync: {@link SyncLogLine}. */
  syncFinished: 'sync finished',
  /** Fan-out, one per run plan: runId, segments. */
  runPlanned: 'run planned',
  /** Fan-out, one per segment task: {@link FanOutLogLine}. */
  fanOutSegmentFinished: 'segment pages done',
  /** Consumers, one per message moved to a DLQ: queue, reason (never the body). */
  deadLettered: 'message dead-lettered',
} as const;

/** The keys of the consumer's `sync finished` line (no personal data: ids and counts only). */
export interface SyncLogLine {
  accountId: string;
  runId: string;
  trigger: Trigger;
  outcome: SyncOutcome;
  errorCode?: string;
  durationMs: number;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  pages: number;
  providerCalls: number;
}

/** The keys of the fan-out's segment summary line. */
export interface FanOutLogLine {
  runId: string;
  segment: number;
  pages: number;
  enqueued: number;
  failed: number;
}

/** The failure class of a sanitised error code (`transient:SERVICE_UNAVAILABLE`), if it has one. */
export function errorClassOf(errorCode: string | undefined): FailureClass | undefined {
  const prefix = errorCode?.split(':', 1)[0];
  return ERROR_CLASSES.find((known) => known === prefix);
}
