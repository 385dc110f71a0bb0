/**
 * The deployment configuration of momo-sync: read from the `momoSync` key of the CDK context
 * (cdk.json), with per-stage overrides under `momoSync.stages.<stage>` picked by `-c stage=<name>`,
 * and validated before any construct is built. A wrong value stops synth with a message that
 * names the key, the value given and how to fix it.
 */
import { z } from 'zod';

/** CDK context key that holds the configuration. */
export const CONTEXT_KEY = 'momoSync';
/** CDK context key that selects a stage (`cdk synth -c stage=prod`). */
export const STAGE_CONTEXT_KEY = 'stage';

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
] as const;

// EventBridge Scheduler's three forms: six-field cron, rate, and one-off at().
const SCHEDULE_EXPRESSION =
  /^(cron\(\S+( \S+){5}\)|rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\)|at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\))$/;

/** True when `zone` is an IANA time zone name this Node.js (ICU) knows, spelled exactly. */
export function isIanaTimeZone(zone: string): boolean {
  // Intl also accepts offsets such as "+01:00"; the scheduler wants a zone name.
  if (!/^[A-Za-z]+(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return false;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions();
    // Intl matches names case-insensitively; the scheduler does not.
    return resolved.timeZone.toLowerCase() !== zone.toLowerCase() || resolved.timeZone === zone;
  } catch {
    return false;
  }
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const scheduleSchema = z.strictObject({
  /** When the daily fan-out runs, in `timeZone`. @default cron(0 2 * * ? *) */
  expression: z.string().regex(SCHEDULE_EXPRESSION).default('cron(0 2 * * ? *)'),
  /**
   * IANA zone of the expression. The default, Africa/Accra (Ghana, one of MTN MoMo's largest
   * markets), is UTC+0 all year with no daylight saving, so 02:00 there is a quiet night hour
   * from Côte d'Ivoire to Uganda (02:00 to 05:00 local) and never shifts with the seasons.
   */
  timeZone: z.string().refine(isIanaTimeZone).default('Africa/Accra'),
  /** How often the scheduler retries a failed invocation before the schedule DLQ. */
  retryAttempts: int(0, 185).default(3),
  /** How long the scheduler keeps retrying one occurrence. */
  maxEventAgeMinutes: int(1, 1440).default(60),
});

const providerSchema = z.strictObject({
  /** Base URL of the wallet-statement provider (https). */
  baseUrl: z.url({ protocol: /^https$/ }).default('https://sandbox.momodeveloper.mtn.com'),
  /** MTN's `X-Target-Environment`: `sandbox` or a market such as `mtnghana`. */
  targetEnvironment: z
    .string()
    .regex(/^(sandbox|mtn[a-z]+)$/)
    .default('sandbox'),
  /** Secrets Manager secret holding `{ apiUser, apiKey, subscriptionKey }` as JSON. */
  secretName: z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/)
    .default('momo-sync/provider'),
  /**
   * The provider's rate limit for our subscription, in requests per second. When set, each
   * consumer spaces its calls to its share of it (this divided by `consumer.maximumConcurrency`),
   * so a backlog drains at the limit without spending calls on 429s. The shares are sized for
   * the sync queue's consumers: the manual queue's (sync now, re-link) come on top while users
   * ask for syncs, and the few calls they add past the limit meet the provider's 429 and its
   * `Retry-After`. Sizing for both would slow the daily backlog by as much, every night. Unset,
   * the consumers call as fast as they can and the 429s do all the pacing.
   */
  rateLimitPerSecond: z.number().positive().max(100_000).optional(),
});

const consumerSchema = z.strictObject({
  /**
   * Cap on concurrent consumer invocations of each of the sync and the manual queue. Size it to
   * the provider's rate limit: each invocation syncs its batch one account after another, so
   * the daily run makes at most about this many provider calls at once.
   */
  maximumConcurrency: int(2, 1000).default(10),
  /**
   * Messages per invocation; they are synced one after another. Ten keeps SQS at about 0.3
   * requests per account: a tenth of a batched send, of a receive and of a batched delete.
   */
  batchSize: int(1, 10).default(10),
  /**
   * Consumer Lambda timeout; the queues' visibility is six times this. At least 30 s: a sync
   * keeps 20 s back to finish a page, checkpoint and release (core/sync-engine.ts), so a shorter
   * timeout would leave no time to fetch and every sync would stop before its first page.
   */
  timeoutSeconds: int(30, 900).default(120),
});

const fanOutSchema = z.strictObject({
  /** Parallel Scan segments of the accounts table (one fan-out task each). */
  scanSegments: int(1, 1000).default(16),
  /** Fan-out Lambda timeout; a segment that runs short continues in a new task. */
  timeoutSeconds: int(60, 900).default(300),
});

const syncSchema = z.strictObject({
  /** How far before the cursor each sync starts again (late postings, clock drift). */
  overlapMinutes: int(0, 7 * 24 * 60).default(60),
  /** How far back the first sync of a new account goes. */
  firstSyncLookbackDays: int(1, 730).default(90),
  /** How long a lease holds without a checkpoint; at least the consumer timeout. */
  leaseSeconds: int(30, 3600).default(300),
  /** First backoff step after a failure (full jitter below the step). */
  backoffBaseSeconds: int(1, 86_400).default(30),
  /** Largest backoff step. */
  backoffCapSeconds: int(1, 7 * 86_400).default(6 * 3600),
  /** Consecutive failures after which the account shows `error` (still retried). */
  maxConsecutiveFailures: int(1, 100).default(5),
  /** Interval between scheduled syncs of an account with no override. */
  defaultIntervalMinutes: int(60, 7 * 24 * 60).default(24 * 60),
  /** Shortest interval an override or the adaptive rule may give an account. */
  minIntervalMinutes: int(15, 7 * 24 * 60).default(60),
  /** Longest interval an override or the adaptive rule may give an account. */
  maxIntervalMinutes: int(60, 30 * 24 * 60).default(7 * 24 * 60),
  /** A scheduled run takes accounts due up to this long after its run time. */
  dueToleranceMinutes: int(0, 24 * 60).default(60),
});

const monitoringSchema = z.strictObject({
  /** Address subscribed to the alarm topic; absent leaves the topic for you to subscribe to. */
  alarmEmail: z.email().optional(),
  /**
   * Alarm when the oldest sync message waits longer than this. The daily backlog takes time to
   * drain at the provider's rate limit: size it above accounts / (concurrency x syncs per second).
   */
  maxSyncQueueAgeMinutes: int(5, 24 * 60).default(360),
  /** Alarm when this share of finished syncs fails over three five-minute periods. */
  failureRatePercent: int(1, 100).default(10),
  /** The failure rate alarm ignores five minutes with fewer finished syncs than this. */
  failureRateMinSyncs: int(1, 100_000).default(20),
  /** Alarm when the consumer is throttled at least this often in five minutes. */
  consumerThrottles: int(1, 100_000).default(1),
});

/** The nil UUID: the placeholder app id OneSignal refuses until a real one is configured. */
export const UNSET_ONESIGNAL_APP_ID = '00000000-0000-0000-0000-000000000000';

// Schemes a browser or the OS would open itself instead of handing the link to the app.
const RESERVED_SCHEMES = new Set(['http', 'https', 'javascript', 'data', 'file', 'about', 'blob']);

const notificationsSchema = z.strictObject({
  /**
   * The OneSignal app id (dashboard: Settings > Keys & IDs). The default is a placeholder that
   * OneSignal refuses: until it is set, re-link requests end in the notify DLQ, where the DLQ
   * alarm shows them.
   */
  oneSignalAppId: z.uuid().default(UNSET_ONESIGNAL_APP_ID),
  /** Secrets Manager secret holding the app's REST API key, as text or `{ "restApiKey": ... }`. */
  secretName: z
    .string()
    .regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/)
    .default('momo-sync/onesignal'),
  /** The mobile app's URL scheme: a push opens `<scheme>://accounts/<id>/relink`. */
  appScheme: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]{0,31}$/)
    .refine((scheme) => !RESERVED_SCHEMES.has(scheme))
    .default('momofinance'),
  /** Requests per notifier invocation. */
  batchSize: int(1, 10).default(10),
  /**
   * Cap on concurrent notifier invocations. Re-link pushes come a few at a time; the cap keeps a
   * burst (a provider-wide link expiry) well under OneSignal's rate limit.
   */
  maximumConcurrency: int(2, 1000).default(2),
});

/**
 * The issuer a deployment trusts until one is configured. `.invalid` never resolves (RFC 6761),
 * so an API deployed without an identity provider refuses every token instead of trusting one.
 */
export const UNSET_JWT_ISSUER = 'https://issuer.invalid';

const apiSchema = z.strictObject({
  /**
   * The OIDC issuer whose tokens the app API accepts: exactly the tokens' `iss`, https. API
   * Gateway reads its keys from `<issuer>/.well-known/openid-configuration`.
   */
  jwtIssuer: z
    .url({ protocol: /^https$/ })
    .refine((url) => !/[?#]/.test(url))
    .default(UNSET_JWT_ISSUER),
  /** Client ids a token's `aud` (or `client_id`) must name one of. */
  jwtAudience: z
    .array(z.string())
    .min(1)
    .max(50)
    // Checked as a whole so that the message names the key, not an index into it.
    .refine((list) => list.every((audience) => /^[\x21-\x7e]{1,256}$/.test(audience)))
    .default(['momo-sync-app']),
  /** Steady requests per second the stage admits, across all callers. */
  throttlingRateLimit: int(1, 10_000).default(50),
  /** Requests the stage admits at once above the steady rate. */
  throttlingBurstLimit: int(1, 5_000).default(100),
  /** Least seconds between two syncs an owner may queue for one account (manual or re-link). */
  manualSyncIntervalSeconds: int(10, 86_400).default(300),
  /** The api function's timeout; API Gateway gives up on an integration after 30 s. */
  timeoutSeconds: int(3, 29).default(10),
});

const configSchema = z
  .strictObject({
    schedule: scheduleSchema.prefault({}),
    provider: providerSchema.prefault({}),
    consumer: consumerSchema.prefault({}),
    fanOut: fanOutSchema.prefault({}),
    sync: syncSchema.prefault({}),
    monitoring: monitoringSchema.prefault({}),
    notifications: notificationsSchema.prefault({}),
    api: apiSchema.prefault({}),
    /** `aws-managed` keys, or one customer-managed KMS key for the tables and queues. */
    encryption: z.enum(['aws-managed', 'customer-managed']).default('aws-managed'),
    /** Retention of every function's log group. */
    logRetentionDays: z
      .number()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days))
      .default(30),
    /** How long sync-run records live before TTL removes them. */
    syncRunTtlDays: int(1, 3650).default(90),
  })
  .superRefine((config, ctx) => {
    const { minIntervalMinutes: min, maxIntervalMinutes: max } = config.sync;
    if (max < min) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync', 'maxIntervalMinutes'],
        message: `is below sync.minIntervalMinutes (${min})`,
      });
    } else if (
      config.sync.defaultIntervalMinutes < min ||
      config.sync.defaultIntervalMinutes > max
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync', 'defaultIntervalMinutes'],
        message: `is outside sync.minIntervalMinutes..sync.maxIntervalMinutes (${min}..${max})`,
      });
    }
    if (config.sync.backoffCapSeconds < config.sync.backoffBaseSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync', 'backoffCapSeconds'],
        message: `is below sync.backoffBaseSeconds (${config.sync.backoffBaseSeconds})`,
      });
    }
    // A lease shorter than one invocation could be taken over while its holder still writes.
    if (config.sync.leaseSeconds < config.consumer.timeoutSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['sync', 'leaseSeconds'],
        message: `is below consumer.timeoutSeconds (${config.consumer.timeoutSeconds})`,
      });
    }
  });

/** The validated configuration every construct is built from. */
export type MomoSyncConfig = z.infer<typeof configSchema> & {
  /** The stage picked with `-c stage=<name>`, if any. */
  stage?: string;
};

/** How to fix each key, for the error message. */
const FIXES: Record<string, string> = {
  'schedule.expression':
    'use an EventBridge Scheduler expression: cron(min hour day-of-month month day-of-week year), rate(N unit) or at(yyyy-mm-ddThh:mm:ss), e.g. "cron(0 2 * * ? *)"',
  'schedule.timeZone':
    'use an IANA time zone name spelled exactly, e.g. "Africa/Accra", "Africa/Lagos", "Africa/Kampala" or "UTC"',
  'schedule.retryAttempts': 'use a whole number from 0 to 185',
  'schedule.maxEventAgeMinutes': 'use a whole number of minutes from 1 to 1440',
  'provider.baseUrl': 'use an https URL, e.g. "https://sandbox.momodeveloper.mtn.com"',
  'provider.targetEnvironment':
    'use MTN\'s X-Target-Environment value: "sandbox" or a market such as "mtnghana", "mtnuganda"',
  'provider.secretName':
    'use a Secrets Manager secret name (letters, digits and /_+=.@-), e.g. "momo-sync/provider"',
  'provider.rateLimitPerSecond':
    'use a positive number of requests per second up to 100000 (the limit of your MoMo subscription), or leave it out',
  'consumer.maximumConcurrency':
    'use a whole number from 2 to 1000 (the range Lambda allows for an SQS event source)',
  'consumer.batchSize': 'use a whole number from 1 to 10',
  'consumer.timeoutSeconds':
    'use a whole number of seconds from 30 to 900 (a sync keeps 20 s back to checkpoint)',
  'fanOut.scanSegments': 'use a whole number from 1 to 1000',
  'fanOut.timeoutSeconds': 'use a whole number of seconds from 60 to 900',
  'sync.overlapMinutes': 'use a whole number of minutes from 0 to 10080',
  'sync.firstSyncLookbackDays': 'use a whole number of days from 1 to 730',
  'sync.leaseSeconds':
    'use a whole number of seconds from 30 to 3600, and no less than consumer.timeoutSeconds',
  'sync.backoffBaseSeconds': 'use a whole number of seconds from 1 to 86400',
  'sync.backoffCapSeconds':
    'use a whole number of seconds up to 604800, and no less than sync.backoffBaseSeconds',
  'sync.maxConsecutiveFailures': 'use a whole number from 1 to 100',
  'sync.defaultIntervalMinutes':
    'use a whole number of minutes from 60 to 10080, between sync.minIntervalMinutes and sync.maxIntervalMinutes',
  'sync.dueToleranceMinutes': 'use a whole number of minutes from 0 to 1440',
  'sync.minIntervalMinutes':
    'use a whole number of minutes from 15 to 10080, no more than sync.defaultIntervalMinutes',
  'sync.maxIntervalMinutes':
    'use a whole number of minutes from 60 to 43200, no less than sync.minIntervalMinutes and sync.defaultIntervalMinutes',
  'monitoring.alarmEmail': 'use one email address, e.g. "oncall@example.com", or leave it out',
  'monitoring.maxSyncQueueAgeMinutes': 'use a whole number of minutes from 5 to 1440',
  'monitoring.failureRatePercent': 'use a whole number from 1 to 100',
  'monitoring.failureRateMinSyncs': 'use a whole number from 1 to 100000',
  'monitoring.consumerThrottles': 'use a whole number from 1 to 100000',
  'notifications.oneSignalAppId':
    'use your OneSignal app id, a UUID from the dashboard (Settings > Keys & IDs), e.g. "5eb5a37e-b458-11e3-ac11-000c2940e62c"',
  'notifications.secretName':
    'use a Secrets Manager secret name (letters, digits and /_+=.@-), e.g. "momo-sync/onesignal"',
  'notifications.appScheme':
    'use the app\'s own URL scheme: a lowercase letter then up to 31 of a-z 0-9 + . -, not http, https, javascript, data, file, about or blob, e.g. "momofinance"',
  'notifications.batchSize': 'use a whole number from 1 to 10',
  'notifications.maximumConcurrency':
    'use a whole number from 2 to 1000 (the range Lambda allows for an SQS event source)',
  'api.jwtIssuer':
    'use your identity provider\'s issuer URL exactly as its tokens carry it in "iss" (https, no query), e.g. "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"',
  'api.jwtAudience':
    'use a list of 1 to 50 client ids (printable, no spaces) the app\'s tokens carry in "aud", e.g. ["momo-sync-app"]',
  'api.throttlingRateLimit': 'use a whole number of requests per second from 1 to 10000',
  'api.throttlingBurstLimit': 'use a whole number of requests from 1 to 5000',
  'api.manualSyncIntervalSeconds': 'use a whole number of seconds from 10 to 86400',
  'api.timeoutSeconds':
    'use a whole number of seconds from 3 to 29 (API Gateway stops waiting at 30)',
  encryption: 'use "aws-managed" or "customer-managed"',
  logRetentionDays: `use one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(', ')}`,
  syncRunTtlDays: 'use a whole number of days from 1 to 3650',
};

/** A configuration value that cannot be deployed. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function deepMerge(base: Json, override: Json): Json {
  const merged: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[String(key)];
  }
  return node;
}

/** Anything a context source offers: an App's node, or a plain lookup in tests. */
export interface ContextSource {
  tryGetContext(key: string): unknown;
}

/**
 * Reads and validates the configuration from the CDK context. Throws {@link ConfigError} naming
 * the key, the value and the fix; with several problems, all of them, one per line.
 */
export function loadConfig(context: ContextSource): MomoSyncConfig {
  const raw = context.tryGetContext(CONTEXT_KEY) ?? {};
  if (!isObject(raw)) {
    throw new ConfigError(
      `${CONTEXT_KEY} is ${JSON.stringify(raw)}: set the "${CONTEXT_KEY}" context key in cdk.json to an object`,
    );
  }
  const { stages = {}, ...base } = raw;
  const stage = context.tryGetContext(STAGE_CONTEXT_KEY);
  let override: Json = {};
  if (stage !== undefined) {
    const known = isObject(stages) ? Object.keys(stages) : [];
    const picked = isObject(stages) ? stages[String(stage)] : undefined;
    if (typeof stage !== 'string' || !isObject(picked)) {
      throw new ConfigError(
        `stage is ${JSON.stringify(stage)}, which has no ${CONTEXT_KEY}.stages entry: pass one of ` +
          `${known.map((name) => `-c stage=${name}`).join(', ') || '(none defined)'} or add ` +
          `${CONTEXT_KEY}.stages.${String(stage)} to cdk.json`,
      );
    }
    override = picked;
  }
  const merged = deepMerge(base, override);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => describeIssue(issue, merged, override, stage));
    throw new ConfigError(`invalid ${CONTEXT_KEY} configuration:\n${lines.join('\n')}`);
  }
  return stage === undefined ? parsed.data : { ...parsed.data, stage: String(stage) };
}

function describeIssue(
  issue: z.core.$ZodIssue,
  merged: Json,
  override: Json,
  stage: unknown,
): string {
  const path = issue.path.map(String);
  // Name the key where the value came from, so the fix lands in the right place.
  const fromStage = valueAt(override, issue.path) !== undefined;
  const where = (keys: string[]) =>
    [CONTEXT_KEY, ...(fromStage ? ['stages', String(stage)] : []), ...keys].join('.');
  if (issue.code === 'unrecognized_keys') {
    const section = [CONTEXT_KEY, ...path].join('.');
    return `${section} has unknown key(s) ${issue.keys.join(', ')}: remove them or fix their spelling`;
  }
  const key = path.join('.');
  const value = valueAt(merged, issue.path);
  const given = value === undefined ? 'missing' : `${JSON.stringify(value)}`;
  const fix = FIXES[key] ?? 'see lib/config.ts for the allowed values';
  return `${where(path)} is ${given} (${issue.message}): ${fix}`;
}
