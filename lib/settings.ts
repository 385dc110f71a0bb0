/**
 * The environment variables through which the CDK stack hands its configuration to the Lambda
 * handlers (table and queue names come from lib/resources.ts). Like resources.ts it imports no
 * aws-cdk-lib: the handlers bundle it, and the local stack sets the same variables.
 */

/** Settings of the MoMo provider client. */
export const PROVIDER_ENV = {
  baseUrl: 'PROVIDER_BASE_URL',
  targetEnvironment: 'PROVIDER_TARGET_ENVIRONMENT',
  /** Name or ARN of the Secrets Manager secret holding `{ apiUser, apiKey, subscriptionKey }`. */
  secretId: 'PROVIDER_SECRET_ID',
  /** Least milliseconds between the starts of two provider requests of one consumer. */
  minIntervalMs: 'PROVIDER_MIN_INTERVAL_MS',
} as const;

/**
 * One consumer's spacing between provider requests: the rate limit shared by the consumers that
 * call at once, rounded up so their sum never passes the limit.
 */
export function providerMinIntervalMs(rateLimitPerSecond: number, consumers: number): number {
  if (!(rateLimitPerSecond > 0) || !(consumers >= 1)) {
    throw new RangeError('the rate limit and the consumer count must be positive');
  }
  return Math.ceil((1000 * consumers) / rateLimitPerSecond);
}

/** Settings of the sync engine, in the units the configuration uses. */
export const SYNC_ENV = {
  overlapMinutes: 'SYNC_OVERLAP_MINUTES',
  firstSyncLookbackDays: 'SYNC_FIRST_SYNC_LOOKBACK_DAYS',
  leaseSeconds: 'SYNC_LEASE_SECONDS',
  backoffBaseSeconds: 'SYNC_BACKOFF_BASE_SECONDS',
  backoffCapSeconds: 'SYNC_BACKOFF_CAP_SECONDS',
  maxConsecutiveFailures: 'SYNC_MAX_CONSECUTIVE_FAILURES',
  defaultIntervalMinutes: 'SYNC_DEFAULT_INTERVAL_MINUTES',
  /** Bounds of every account's interval: overrides, the fleet's and the adaptive rule's. */
  minIntervalMinutes: 'SYNC_MIN_INTERVAL_MINUTES',
  maxIntervalMinutes: 'SYNC_MAX_INTERVAL_MINUTES',
  dueToleranceMinutes: 'SYNC_DUE_TOLERANCE_MINUTES',
  syncRunTtlDays: 'SYNC_RUN_TTL_DAYS',
} as const;

/**
 * Waits of the provider circuit (core/circuit.ts), in seconds. The stack leaves them unset, so a
 * deployment runs the defaults; the local profile shortens them like its other waits.
 */
export const CIRCUIT_ENV = {
  /** Wait before the first probe after the circuit opens. */
  openSeconds: 'CIRCUIT_OPEN_SECONDS',
  /** Cap of the doubling wait. */
  maxOpenSeconds: 'CIRCUIT_MAX_OPEN_SECONDS',
  /** How long a probe claim holds (at least one consumer invocation). */
  probeLeaseSeconds: 'CIRCUIT_PROBE_LEASE_SECONDS',
} as const;

/** Settings of the fan-out. */
export const FANOUT_ENV = {
  scanSegments: 'FANOUT_SCAN_SEGMENTS',
} as const;

/** The sync engine settings as the stack passes them (whole numbers in the named units). */
export type SyncSettings = Record<keyof typeof SYNC_ENV, number>;

/** Turns sync settings into the environment variables the consumer reads. */
export function syncSettingsEnv(settings: SyncSettings): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(SYNC_ENV) as (keyof SyncSettings)[]).map((key) => [
      SYNC_ENV[key],
      String(settings[key]),
    ]),
  );
}

/** Settings of the app API function. */
export const API_ENV = {
  /** Least seconds between two syncs an owner may queue for one account. */
  manualSyncIntervalSeconds: 'API_MANUAL_SYNC_INTERVAL_SECONDS',
  /** Bounds of an owner's sync interval, in minutes. */
  minSyncIntervalMinutes: 'API_MIN_SYNC_INTERVAL_MINUTES',
  maxSyncIntervalMinutes: 'API_MAX_SYNC_INTERVAL_MINUTES',
} as const;

/** Settings of the notifier function (re-link pushes through OneSignal). */
export const NOTIFIER_ENV = {
  /** The OneSignal app id. */
  appId: 'ONESIGNAL_APP_ID',
  /** Name or ARN of the Secrets Manager secret holding the OneSignal REST API key. */
  secretId: 'ONESIGNAL_SECRET_ID',
  /** The mobile app's URL scheme for the re-link deep link. */
  appScheme: 'APP_SCHEME',
  /** OneSignal's API root; unset in AWS, the local stack points it at its stub. */
  apiUrl: 'ONESIGNAL_API_URL',
} as const;
