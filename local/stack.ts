/**
 * The whole of momo-sync on one machine: dynalite, local-aws-sqs, the Secrets Manager endpoint,
 * the MoMo simulator and the OneSignal stub on loopback, the tables and queues of
 * lib/resources.ts, the real handlers loaded against them, and one event-source poller per
 * queue. `npm start`, the benchmark and the chaos soak all build on `startLocalStack`.
 *
 * The handlers are modules that read their environment once, so one process holds at most one
 * stack; tests that need a second one run it as a child process.
 */
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CapacityCounter,
  createDocumentClient,
  createDynamoClient,
} from '../adapters/dynamodb/client';
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  FANOUT_QUEUE,
  IDEMPOTENCY_TABLE,
  MANUAL_QUEUE,
  NOTIFY_QUEUE,
  QUEUES,
  type QueueDef,
  SYNC_QUEUE,
  SYNC_RUNS_TABLE,
  TRANSACTIONS_TABLE,
} from '../lib/resources';
import { PROVIDER_ENV, providerMinIntervalMs } from '../lib/settings';
import { type RunningLocalApi, startLocalApi } from './api';
import { createTables, startDynalite } from './engines/dynamo';
import { type RunningSecrets, startSecretsEndpoint } from './engines/secrets';
import {
  createQueues,
  LOCAL_REGION,
  type LocalQueue,
  localSqsClient,
  type RunningSqs,
  startLocalSqs,
} from './engines/sqs';
import {
  FUNCTION_NAMES,
  LOCAL_PROFILE,
  type LocalHandlers,
  loadHandlers,
  localEnvironment,
} from './env';
import type { LocalApiHandler } from './http-api';
import { type MomoSimulator, type MomoSimulatorOptions, startMomoSimulator } from './momo-sim';
import { type RunningOneSignalStub, startOneSignalStub } from './onesignal-stub';
import {
  type BatchResult,
  createContext,
  createPoller,
  type Poller,
  type SqsBatchHandler,
} from './poller';

/** Where each server sits relative to the base port (`--port`); the API takes the base itself. */
export const PORT_OFFSETS = {
  api: 0,
  dynamodb: 1,
  sqs: 2,
  secrets: 3,
  momo: 4,
  oneSignal: 5,
} as const;

export type ServiceName = keyof typeof PORT_OFFSETS;

/** Largest base port: the last offset must still be a port. */
export const MAX_BASE_PORT = 65_535 - Math.max(...Object.values(PORT_OFFSETS));

/** What each server is, for messages. */
export const SERVICE_LABELS: Record<ServiceName, string> = {
  api: 'app API',
  dynamodb: 'dynalite',
  sqs: 'local-aws-sqs',
  secrets: 'Secrets Manager endpoint',
  momo: 'MoMo simulator',
  oneSignal: 'OneSignal stub',
};

/** A server could not listen on its port: taken (EADDRINUSE) or not allowed (EACCES). */
export class PortInUseError extends Error {
  constructor(
    readonly service: ServiceName,
    readonly port: number,
    readonly code = 'EADDRINUSE',
  ) {
    super(
      code === 'EADDRINUSE'
        ? `port ${port} (${SERVICE_LABELS[service]}) is already in use`
        : `port ${port} (${SERVICE_LABELS[service]}) cannot be opened (${code})`,
    );
    this.name = 'PortInUseError';
  }
}

const LISTEN_ERRORS = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

export interface LocalStackOptions {
  /** Base port (see {@link PORT_OFFSETS}); 0 gives every server a free port. Default 0. */
  basePort?: number;
  host?: string;
  /** Directory dynalite persists to; in memory when absent. */
  dataDir?: string;
  /** Powertools log level of the handlers. Default `ERROR`. */
  logLevel?: string;
  /** The simulator's seed, clock, latency, rate limit, faults and page size. */
  simulator?: Partial<
    Pick<
      MomoSimulatorOptions,
      'seed' | 'clock' | 'latencyMs' | 'rateLimitPerSecond' | 'faults' | 'pageSize'
    >
  >;
  /**
   * Serve the app API (issuer and HTTP API on the base port) for these demo users; absent, or
   * without an api handler, there is no API.
   */
  api?: { demoUsers: string[]; stateFile?: string | null };
  /**
   * The sync consumer's event source (sync and manual queues), by default the local profile's.
   * The benchmark sizes `maximumConcurrency` to the provider's rate limit, as a deployment would.
   */
  consumer?: Partial<Pick<typeof LOCAL_PROFILE.consumer, 'batchSize' | 'maximumConcurrency'>>;
  /**
   * Wraps the sync-account handler of every slot of the sync and manual pollers: the chaos soak
   * kills invocations through it. `slot` numbers the slots of both pollers from 0.
   */
  wrapSyncHandler?: (handler: SqsBatchHandler, slot: number) => SqsBatchHandler;
  /** Called after every batch a poller handled, for progress displays. */
  onBatch?: (result: BatchResult) => void;
  /** Called with every error a handler threw or a poller met. */
  onError?: (error: unknown, info: { functionName: string }) => void;
}

/** Table names of the stack, by the table's role. */
export interface LocalTables {
  accounts: string;
  transactions: string;
  syncRuns: string;
  control: string;
  idempotency: string;
}

export interface SchedulerTick {
  scheduledTime: string;
  /** The fan-out's answer: the run it planned. */
  result: unknown;
}

export interface LocalStack {
  region: string;
  endpoints: {
    dynamodb: string;
    sqs: string;
    secretsManager: string;
    momo: string;
    oneSignal: string;
  };
  /** Document client on the local DynamoDB, metered by `capacity`. */
  doc: DynamoDBDocumentClient;
  /** Capacity and requests of the stack's own reads (the summary), not of the handlers. */
  capacity: CapacityCounter;
  sqs: SQSClient;
  tables: LocalTables;
  /** Created queues by definition name (`sync`, `manual`, `fanout`, `notify`). */
  queues: Record<string, LocalQueue>;
  simulator: MomoSimulator;
  oneSignal: RunningOneSignalStub;
  secrets: RunningSecrets;
  sqsEngine: RunningSqs;
  handlers: LocalHandlers;
  /** The app API, when it was asked for and the api handler exists. */
  api?: RunningLocalApi;
  /** One poller per consumed queue. */
  pollers: Poller[];
  /**
   * SQS requests spent on the work: every request the engine answered except queue management,
   * receives and depth checks, plus the pollers' receives that returned messages. An idle
   * poller's empty receives are the local stand-in for Lambda's long polls and are left out.
   */
  sqsWorkRequests(): number;
  /** The same requests by operation, the pollers' non-empty receives as `ReceiveMessage`. */
  sqsWorkByOperation(): Record<string, number>;
  /** Invokes the fan-out as EventBridge Scheduler would, for the given (default: now) time. */
  tick(scheduledTime?: Date): Promise<SchedulerTick>;
  /** Resolves when every queue is empty and no handler runs (see {@link drainAll}). */
  drain(options?: { timeoutMs?: number }): Promise<void>;
  /** Stops the pollers, then closes every server; safe to call twice. */
  close(): Promise<void>;
}

const ONESIGNAL_APP_ID = '00000000-0000-4000-8000-00000000a11c';

let handlersLoaded = false;

/** The fan-out's event source: one segment task per invocation, as sync-pipeline.ts wires it. */
const FANOUT_SETTINGS = {
  batchSize: 1,
  maximumConcurrency: Math.max(2, LOCAL_PROFILE.fanOut.scanSegments),
  timeoutSeconds: LOCAL_PROFILE.fanOut.timeoutSeconds,
};

/** Starts every engine and server, creates the resources and loads the handlers. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (handlersLoaded) {
    throw new Error('one local stack per process: the handlers read their environment once');
  }
  // Before the first SDK client: Node 20 is what this project runs on, the warning is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const host = options.host ?? '127.0.0.1';
  const basePort = options.basePort ?? 0;
  const portOf = (service: ServiceName) => (basePort === 0 ? 0 : basePort + PORT_OFFSETS[service]);
  const region = LOCAL_REGION;

  const oneSignalKey = randomHex(24);
  const engines = await startAll({
    dynamodb: () =>
      startDynalite({
        port: portOf('dynamodb'),
        host,
        ...(options.dataDir ? { path: join(options.dataDir, 'dynamodb') } : {}),
      }),
    sqs: () => startLocalSqs({ port: portOf('sqs'), host, region }),
    secrets: () => startSecretsEndpoint({ port: portOf('secrets'), host, region }),
    momo: () =>
      startMomoSimulator({
        port: portOf('momo'),
        host,
        apiUser: crypto.randomUUID(),
        apiKey: randomHex(16),
        subscriptionKey: randomHex(16),
        seed: options.simulator?.seed ?? 'momo-sync-demo',
        ...options.simulator,
      }),
    oneSignal: () =>
      startOneSignalStub({
        port: portOf('oneSignal'),
        host,
        appId: ONESIGNAL_APP_ID,
        apiKey: oneSignalKey,
      }),
  });
  const closeEngines = () => closeAll(Object.values(engines));

  try {
    const capacity = new CapacityCounter();
    const dynamo = createDynamoClient({ endpoint: engines.dynamodb.endpoint, region });
    await createTables(dynamo);
    dynamo.destroy();
    const doc = createDocumentClient({ endpoint: engines.dynamodb.endpoint, region, capacity });
    const sqs = localSqsClient(engines.sqs.endpoint, region);
    const queues = await createQueues(sqs, QUEUES, {
      consumerTimeoutSeconds: (queue) => consumerTimeoutSeconds(queue),
    });

    const credentials = engines.momo.credentials;
    engines.secrets.put(
      LOCAL_PROFILE.provider.secretName,
      JSON.stringify({
        apiUser: credentials.apiUser,
        apiKey: credentials.apiKey,
        subscriptionKey: credentials.subscriptionKey,
      }),
    );

    engines.secrets.put(
      LOCAL_PROFILE.notifier.secretName,
      JSON.stringify({ restApiKey: oneSignalKey }),
    );

    const consumer = { ...LOCAL_PROFILE.consumer, ...options.consumer };
    // The simulator's rate limit is the provider's: configure the consumers with it, as a
    // deployment sets `provider.rateLimitPerSecond`.
    const rateLimit = options.simulator?.rateLimitPerSecond ?? 0;
    const env = localEnvironment({
      region,
      endpoints: {
        dynamodb: engines.dynamodb.endpoint,
        sqs: engines.sqs.endpoint,
        secretsManager: engines.secrets.endpoint,
        provider: engines.momo.url,
        oneSignal: engines.oneSignal.url,
      },
      queues,
      oneSignalAppId: ONESIGNAL_APP_ID,
      logLevel: options.logLevel ?? 'ERROR',
      extra:
        rateLimit > 0
          ? {
              [PROVIDER_ENV.minIntervalMs]: String(
                providerMinIntervalMs(rateLimit, consumer.maximumConcurrency),
              ),
            }
          : {},
    });
    handlersLoaded = true;
    // The sync and manual queues feed one function, but each poller slot is an execution
    // environment of its own: load one instance per slot of each of the two pollers.
    const handlers = await loadHandlers(env, {
      fanOut: FANOUT_SETTINGS.maximumConcurrency,
      syncAccount: 2 * consumer.maximumConcurrency,
      notifier: LOCAL_PROFILE.notifier.maximumConcurrency,
    });
    const wrap = options.wrapSyncHandler ?? ((handler: SqsBatchHandler) => handler);
    const slots = handlers.syncAccount.map((handler, slot) => wrap(handler, slot));
    const syncSlots = slots.slice(0, consumer.maximumConcurrency);
    const manualSlots = slots.slice(consumer.maximumConcurrency);

    const pollerOf = (
      def: QueueDef,
      handler: readonly SqsBatchHandler[],
      functionName: string,
      settings: { batchSize: number; maximumConcurrency: number; timeoutSeconds: number },
    ) => {
      const queue = queues[def.name]!;
      return createPoller({
        sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        dlqUrl: queue.dlqUrl,
        maxReceiveCount: def.maxReceiveCount,
        handler,
        functionName,
        region,
        timeoutMs: settings.timeoutSeconds * 1000,
        batchSize: settings.batchSize,
        maximumConcurrency: settings.maximumConcurrency,
        ...(options.onBatch ? { onBatch: options.onBatch } : {}),
        ...(options.onError ? { onError: options.onError } : {}),
      });
    };
    const pollers: Poller[] = [
      pollerOf(FANOUT_QUEUE, handlers.fanOut, FUNCTION_NAMES.fanOut, FANOUT_SETTINGS),
      pollerOf(SYNC_QUEUE, syncSlots, FUNCTION_NAMES.syncAccount, consumer),
      pollerOf(MANUAL_QUEUE, manualSlots, FUNCTION_NAMES.syncAccount, consumer),
    ];
    if (handlers.notifier) {
      pollers.push(
        pollerOf(NOTIFY_QUEUE, handlers.notifier, FUNCTION_NAMES.notifier, LOCAL_PROFILE.notifier),
      );
    }
    await Promise.all(pollers.map((poller) => poller.start()));

    let api: RunningLocalApi | undefined;
    if (options.api && handlers.api) {
      try {
        api = await startLocalApi({
          handler: handlers.api as LocalApiHandler,
          port: portOf('api'),
          host,
          demoUsers: options.api.demoUsers,
          ...(options.api.stateFile !== undefined ? { stateFile: options.api.stateFile } : {}),
        });
      } catch (error) {
        await Promise.all(pollers.map((poller) => poller.stop()));
        const code = (error as NodeJS.ErrnoException).code;
        if (code && LISTEN_ERRORS.has(code)) throw new PortInUseError('api', portOf('api'), code);
        throw error;
      }
    }

    let closed: Promise<void> | undefined;
    return {
      region,
      endpoints: {
        dynamodb: engines.dynamodb.endpoint,
        sqs: engines.sqs.endpoint,
        secretsManager: engines.secrets.endpoint,
        momo: engines.momo.url,
        oneSignal: engines.oneSignal.url,
      },
      doc,
      capacity,
      sqs,
      tables: {
        accounts: ACCOUNTS_TABLE.localName,
        transactions: TRANSACTIONS_TABLE.localName,
        syncRuns: SYNC_RUNS_TABLE.localName,
        control: CONTROL_TABLE.localName,
        idempotency: IDEMPOTENCY_TABLE.localName,
      },
      queues,
      simulator: engines.momo,
      oneSignal: engines.oneSignal,
      secrets: engines.secrets,
      sqsEngine: engines.sqs,
      handlers,
      ...(api ? { api } : {}),
      pollers,
      async tick(scheduledTime = new Date()) {
        // EventBridge Scheduler stamps whole seconds; the time names the run.
        const time = new Date(Math.floor(scheduledTime.getTime() / 1000) * 1000).toISOString();
        const context = createContext(
          FUNCTION_NAMES.fanOut,
          LOCAL_PROFILE.fanOut.timeoutSeconds * 1000,
          region,
        );
        // The scheduler's asynchronous invocation lands in any environment; take the first.
        const result = await handlers.fanOut[0]!(
          { source: 'momo-sync.schedule', scheduledTime: time },
          context,
        );
        return { scheduledTime: time, result };
      },
      sqsWorkRequests: () =>
        Object.values(sqsWorkByOperation(engines.sqs.requests(), pollers)).reduce(
          (sum, count) => sum + count,
          0,
        ),
      sqsWorkByOperation: () => sqsWorkByOperation(engines.sqs.requests(), pollers),
      drain: (drainOptions) => drainAll(pollers, drainOptions),
      close() {
        closed ??= (async () => {
          await api?.close();
          await Promise.all(pollers.map((poller) => poller.stop()));
          sqs.destroy();
          doc.destroy();
          await closeEngines();
        })();
        return closed;
      },
    };
  } catch (error) {
    await closeEngines();
    throw error;
  }
}

const NOT_WORK = new Set([
  'ReceiveMessage',
  'GetQueueAttributes',
  'CreateQueue',
  'GetQueueUrl',
  'ListQueues',
  'PurgeQueue',
]);

function sqsWorkByOperation(
  engine: Record<string, number>,
  pollers: Poller[],
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [operation, count] of Object.entries(engine)) {
    if (!NOT_WORK.has(operation)) counts[operation] = count;
  }
  let receives = 0;
  for (const poller of pollers) {
    const stats = poller.stats();
    receives += (stats.requests.ReceiveMessage ?? 0) - stats.emptyReceives;
  }
  counts.ReceiveMessage = receives;
  return counts;
}

/** The timeout of the function consuming a queue, in seconds, in the local profile. */
export function consumerTimeoutSeconds(queue: QueueDef): number {
  if (queue.name === FANOUT_QUEUE.name) return LOCAL_PROFILE.fanOut.timeoutSeconds;
  if (queue.name === NOTIFY_QUEUE.name) return LOCAL_PROFILE.notifier.timeoutSeconds;
  return LOCAL_PROFILE.consumer.timeoutSeconds;
}

/**
 * Resolves when every poller's queue is empty and no batch runs, checked so that a message one
 * handler queues for another poller cannot slip between two checks: the pass counts only if no
 * batch finished while it ran.
 */
export async function drainAll(
  pollers: Poller[],
  options: { timeoutMs?: number; checkEveryMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const finished = () => pollers.reduce((sum, poller) => sum + poller.stats().invocations, 0);
  for (;;) {
    const before = finished();
    let idle = true;
    for (const poller of pollers) {
      if (!(await poller.isIdle())) {
        idle = false;
        break;
      }
    }
    if (idle && finished() === before) return;
    if (Date.now() > deadline) throw new Error('the queues did not drain in time');
    await new Promise((resolve) => setTimeout(resolve, options.checkEveryMs ?? 50));
  }
}

type Closeable = { close(): Promise<void> };
type Starters = { [K in ServiceName]?: () => Promise<Closeable> };
type Started<T extends Starters> = {
  [K in keyof T]: T[K] extends () => Promise<infer R> ? R : never;
};

/** Starts servers in parallel; if any fails, closes the others and throws the first failure. */
async function startAll<T extends Starters>(starters: T): Promise<Started<T>> {
  const entries = Object.entries(starters) as [ServiceName, () => Promise<Closeable>][];
  const settled = await Promise.allSettled(entries.map(([, start]) => start()));
  const started = settled.flatMap((result) =>
    result.status === 'fulfilled' ? [result.value] : [],
  );
  const failureIndex = settled.findIndex((result) => result.status === 'rejected');
  if (failureIndex !== -1) {
    await closeAll(started);
    const reason = (settled[failureIndex] as PromiseRejectedResult).reason as NodeJS.ErrnoException;
    const [service] = entries[failureIndex]!;
    if (reason?.code && LISTEN_ERRORS.has(reason.code)) {
      throw new PortInUseError(service, portFromError(reason), reason.code);
    }
    throw reason;
  }
  return Object.fromEntries(
    entries.map(([name], index) => [
      name,
      (settled[index] as PromiseFulfilledResult<Closeable>).value,
    ]),
  ) as Started<T>;
}

function portFromError(error: NodeJS.ErrnoException): number {
  return Number((error as { port?: number }).port ?? 0);
}

async function closeAll(servers: Closeable[]): Promise<void> {
  await Promise.allSettled(servers.map((server) => server.close()));
}

function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
