/**
 * The environment the real Lambda handlers read at module load, pointed at the local engines.
 * The handlers build their SDK clients and read their settings when their module is first
 * imported, so the variables must be in `process.env` before that: `loadHandlers` sets them and
 * only then imports each handler module, one at a time, so that each gets its own Powertools
 * service name as it would in its own Lambda.
 */
import { existsSync } from 'node:fs';
import type { APIGatewayProxyEventV2, Context, SQSEvent } from 'aws-lambda';
import { loadConfig, type MomoSyncConfig } from '../lib/config';
import { dlqEnv, QUEUES, TABLES, type TableDef } from '../lib/resources';
import {
  CIRCUIT_ENV,
  FANOUT_ENV,
  NOTIFIER_ENV,
  PROVIDER_ENV,
  type SyncSettings,
  syncSettingsEnv,
} from '../lib/settings';
import type { LocalQueue } from './engines/sqs';
import type { SqsBatchHandler } from './poller';

/** The deployed defaults (cdk.json's `momoSync` with nothing set), read without a CDK app. */
export const DEPLOYED_DEFAULTS: MomoSyncConfig = loadConfig({ tryGetContext: () => undefined });

/**
 * The local profile: the deployed defaults with the waits shortened so that a retry or a
 * backoff shows within a demo. The consumer timeout stays above the engine's 10 s safety margin
 * and the lease at least as long as the timeout, the rules lib/config.ts enforces.
 */
export const LOCAL_PROFILE = {
  consumer: {
    batchSize: DEPLOYED_DEFAULTS.consumer.batchSize,
    maximumConcurrency: DEPLOYED_DEFAULTS.consumer.maximumConcurrency,
    timeoutSeconds: 30,
  },
  fanOut: { scanSegments: 4, timeoutSeconds: 60 },
  notifier: {
    batchSize: 10,
    maximumConcurrency: 2,
    timeoutSeconds: 30,
    secretName: 'momo-sync/onesignal',
    appScheme: 'momosync',
  },
  sync: {
    ...DEPLOYED_DEFAULTS.sync,
    leaseSeconds: 60,
    backoffBaseSeconds: 2,
    backoffCapSeconds: 60,
    syncRunTtlDays: DEPLOYED_DEFAULTS.syncRunTtlDays,
  } satisfies SyncSettings,
  /**
   * A fixed credential failure shows recovering within a demo or a soak, not in five minutes; a
   * probe claim still outlives one consumer invocation (the timeout above).
   */
  circuit: { openSeconds: 5, maxOpenSeconds: 20, probeLeaseSeconds: 30 },
  provider: {
    targetEnvironment: DEPLOYED_DEFAULTS.provider.targetEnvironment,
    secretName: DEPLOYED_DEFAULTS.provider.secretName,
  },
};

/** The function names the local Contexts carry, as CDK would prefix them. */
export const FUNCTION_NAMES = {
  fanOut: 'momo-sync-fan-out',
  syncAccount: 'momo-sync-sync-account',
  notifier: 'momo-sync-notifier',
  api: 'momo-sync-api',
} as const;

export interface LocalEndpoints {
  dynamodb: string;
  sqs: string;
  secretsManager: string;
  /** Base URL of the MoMo provider (the simulator). */
  provider: string;
  /** Base URL of the OneSignal API (the stub). */
  oneSignal: string;
}

export interface LocalEnvironmentInput {
  region: string;
  endpoints: LocalEndpoints;
  /** The created queues, by definition name (`sync`, `manual`, ...). */
  queues: Record<string, LocalQueue>;
  /** Default: each table's `localName`. */
  tableName?: (table: TableDef) => string;
  /** The OneSignal app the stub serves. */
  oneSignalAppId: string;
  /** Powertools log level of the handlers (`DEBUG` to `SILENT`). */
  logLevel: string;
  /** Extra variables, set last (a handler's own settings not known here). */
  extra?: Record<string, string>;
}

/** The variables every local handler sees, as name to value. */
export function localEnvironment(input: LocalEnvironmentInput): Record<string, string> {
  const tableName = input.tableName ?? ((table: TableDef) => table.localName);
  const env: Record<string, string> = {
    AWS_REGION: input.region,
    AWS_DEFAULT_REGION: input.region,
    // The engines ignore signatures; fixed keys keep the SDK from probing a profile or IMDS.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: input.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: input.endpoints.sqs,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: input.endpoints.secretsManager,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Same namespace as lib/constructs/function.ts (not imported: it loads aws-cdk-lib).
    POWERTOOLS_METRICS_NAMESPACE: 'MomoSync',
    // EMF lines would bury the progress display; the summary reads the tables instead.
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: input.logLevel,
    [PROVIDER_ENV.baseUrl]: input.endpoints.provider,
    [PROVIDER_ENV.targetEnvironment]: LOCAL_PROFILE.provider.targetEnvironment,
    [PROVIDER_ENV.secretId]: LOCAL_PROFILE.provider.secretName,
    [FANOUT_ENV.scanSegments]: String(LOCAL_PROFILE.fanOut.scanSegments),
    [CIRCUIT_ENV.openSeconds]: String(LOCAL_PROFILE.circuit.openSeconds),
    [CIRCUIT_ENV.maxOpenSeconds]: String(LOCAL_PROFILE.circuit.maxOpenSeconds),
    [CIRCUIT_ENV.probeLeaseSeconds]: String(LOCAL_PROFILE.circuit.probeLeaseSeconds),
    ...syncSettingsEnv(LOCAL_PROFILE.sync),
  };
  for (const table of TABLES) env[table.env] = tableName(table);
  for (const def of QUEUES) {
    const queue = input.queues[def.name];
    if (!queue) throw new Error(`queue ${def.name} was not created`);
    env[def.env] = queue.url;
    env[dlqEnv(def)] = queue.dlqUrl;
  }
  env[NOTIFIER_ENV.apiUrl] = input.endpoints.oneSignal;
  env[NOTIFIER_ENV.appId] = input.oneSignalAppId;
  env[NOTIFIER_ENV.secretId] = LOCAL_PROFILE.notifier.secretName;
  env[NOTIFIER_ENV.appScheme] = LOCAL_PROFILE.notifier.appScheme;
  return { ...env, ...input.extra };
}

/** Copies the variables into `process.env`. */
export function applyEnvironment(env: Record<string, string>): void {
  Object.assign(process.env, env);
}

/** An HTTP API (payload format 2.0) handler, as API Gateway invokes the api function. */
export type HttpApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

/** The fan-out takes the scheduler's event as well as its queue's batches. */
export type FanOutHandler = (
  event: SQSEvent | { source?: string; scheduledTime: string },
  context: Context,
) => Promise<unknown>;

/**
 * The handlers, one per execution environment. Lambda runs one invocation at a time in an
 * environment, and the handlers rely on it: their module-level Logger context and Powertools
 * BatchProcessor hold the state of the invocation in progress. So each concurrent slot of a
 * poller gets a module instance of its own, as each of Lambda's environments has.
 */
export interface LocalHandlers {
  fanOut: FanOutHandler[];
  syncAccount: SqsBatchHandler[];
  /** Absent while lambdas/notifier does not exist. */
  notifier?: SqsBatchHandler[];
  /** One instance: the local HTTP API hands it requests one by one per connection. */
  api?: HttpApiHandler;
}

/** How many execution environments (module instances) to load per function. */
export interface HandlerInstances {
  fanOut: number;
  syncAccount: number;
  notifier: number;
}

const HANDLER_MODULES = {
  fanOut: { service: 'fan-out', path: '../lambdas/fan-out/index.ts' },
  syncAccount: { service: 'sync-account', path: '../lambdas/sync-account/index.ts' },
  notifier: { service: 'notifier', path: '../lambdas/notifier/index.ts' },
  api: { service: 'api', path: '../lambdas/api/index.ts' },
} as const;

type HandlerName = keyof typeof HANDLER_MODULES;

/**
 * Sets the environment, then evaluates each handler module `instances` times under its own
 * service name (a query string makes each import a new module instance; the modules they
 * import are shared, as they hold no per-invocation state). Call it once per process.
 */
export async function loadHandlers(
  env: Record<string, string>,
  instances: HandlerInstances,
): Promise<LocalHandlers> {
  applyEnvironment(env);
  const load = async (name: HandlerName, count: number): Promise<unknown[] | undefined> => {
    const { service, path } = HANDLER_MODULES[name];
    const url = new URL(path, import.meta.url);
    // The notifier and the api are written in parallel with this stack and may not exist yet.
    if (!existsSync(url)) return undefined;
    const loaded: unknown[] = [];
    for (let instance = 0; instance < count; instance += 1) {
      process.env.POWERTOOLS_SERVICE_NAME = service;
      const module = (await import(`${url.href}?instance=${instance}`)) as { handler: unknown };
      loaded.push(module.handler);
    }
    return loaded;
  };
  const fanOut = await load('fanOut', instances.fanOut);
  const syncAccount = await load('syncAccount', instances.syncAccount);
  if (!fanOut || !syncAccount) throw new Error('the fan-out and sync-account handlers are missing');
  const handlers: LocalHandlers = {
    fanOut: fanOut as FanOutHandler[],
    syncAccount: syncAccount as SqsBatchHandler[],
  };
  const notifier = await load('notifier', instances.notifier);
  if (notifier) handlers.notifier = notifier as SqsBatchHandler[];
  const api = await load('api', 1);
  if (api) handlers.api = api[0] as HttpApiHandler;
  delete process.env.POWERTOOLS_SERVICE_NAME;
  return handlers;
}
