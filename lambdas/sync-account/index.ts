/**
 * The sync consumer. For each message of the sync and manual queues it runs the sync engine on
 * one account and maps the outcome onto the queue: acknowledge, continue, retry later with the
 * account's backoff as the visibility, or dead-letter with a reason. Records are taken one after
 * another so that a platform credential failure can stop the batch before the next provider call.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { DynamoCircuitStore } from '../../adapters/dynamodb/circuit';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoFleetSettingsStore } from '../../adapters/dynamodb/fleet-settings';
import { DynamoSyncRunStore } from '../../adapters/dynamodb/sync-runs';
import { DynamoTransactionStore } from '../../adapters/dynamodb/transactions';
import { MomoClient } from '../../adapters/momo/client';
import { SqsNotifier } from '../../adapters/sqs/notify-queue';
import { serializeSyncMessage } from '../../adapters/sqs/sync-queue';
import { type BatchGate, DEFAULT_CIRCUIT_CONFIG, ProviderCircuit } from '../../core/circuit';
import { PlatformAuthError } from '../../core/errors';
import { type SyncMessage, TRIGGERS, type Trigger } from '../../core/model';
import { systemClock, type WalletProvider } from '../../core/ports';
import {
  DEFAULT_SYNC_CONFIG,
  type SyncConfig,
  type SyncDeps,
  type SyncResult,
  syncAccount,
} from '../../core/sync-engine';
import { METRICS } from '../../lib/metrics';
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  dlqEnv,
  MANUAL_QUEUE,
  NOTIFY_QUEUE,
  type QueueDef,
  SYNC_QUEUE,
  SYNC_RUNS_TABLE,
  TRANSACTIONS_TABLE,
} from '../../lib/resources';
import { CIRCUIT_ENV, PROVIDER_ENV, SYNC_ENV } from '../../lib/settings';
import { intEnv, requireEnv } from '../shared/env';
import { cachedFleetInterval, FLEET_SETTINGS_TTL_MS } from '../shared/fleet-settings';
import { RetryTally, reportSync, tallyRetries } from '../shared/metrics';
import { receivesOf } from '../shared/sqs-record';

const MINUTE_MS = 60_000;
/** SQS caps a message's visibility timeout at twelve hours. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

const logger = new Logger();
const metrics = new Metrics();

/** A queue this function consumes, with the DLQ its dead letters go to. */
interface SourceQueue {
  def: QueueDef;
  url: string;
  dlqUrl: string;
}

const sources: SourceQueue[] = [SYNC_QUEUE, MANUAL_QUEUE].map((def) => ({
  def,
  url: requireEnv(def.env),
  dlqUrl: requireEnv(dlqEnv(def)),
}));

const minutes = (name: string, fallbackMs: number) =>
  intEnv(name, fallbackMs / MINUTE_MS) * MINUTE_MS;
const seconds = (name: string, fallbackMs: number) => intEnv(name, fallbackMs / 1000) * 1000;

const syncConfig: SyncConfig = {
  ...DEFAULT_SYNC_CONFIG,
  overlapMs: minutes(SYNC_ENV.overlapMinutes, DEFAULT_SYNC_CONFIG.overlapMs),
  firstSyncLookbackMs:
    intEnv(SYNC_ENV.firstSyncLookbackDays, DEFAULT_SYNC_CONFIG.firstSyncLookbackMs / 86_400_000) *
    86_400_000,
  leaseMs: seconds(SYNC_ENV.leaseSeconds, DEFAULT_SYNC_CONFIG.leaseMs),
  backoffBaseMs: seconds(SYNC_ENV.backoffBaseSeconds, DEFAULT_SYNC_CONFIG.backoffBaseMs),
  backoffCapMs: seconds(SYNC_ENV.backoffCapSeconds, DEFAULT_SYNC_CONFIG.backoffCapMs),
  maxConsecutiveFailures: intEnv(
    SYNC_ENV.maxConsecutiveFailures,
    DEFAULT_SYNC_CONFIG.maxConsecutiveFailures,
  ),
  defaultIntervalMinutes: intEnv(
    SYNC_ENV.defaultIntervalMinutes,
    DEFAULT_SYNC_CONFIG.defaultIntervalMinutes,
  ),
  minIntervalMinutes: intEnv(SYNC_ENV.minIntervalMinutes, DEFAULT_SYNC_CONFIG.minIntervalMinutes),
  maxIntervalMinutes: intEnv(SYNC_ENV.maxIntervalMinutes, DEFAULT_SYNC_CONFIG.maxIntervalMinutes),
  dueToleranceMs: minutes(SYNC_ENV.dueToleranceMinutes, DEFAULT_SYNC_CONFIG.dueToleranceMs),
};

const provider = {
  baseUrl: requireEnv(PROVIDER_ENV.baseUrl),
  targetEnvironment: requireEnv(PROVIDER_ENV.targetEnvironment),
  secretId: requireEnv(PROVIDER_ENV.secretId),
  minIntervalMs: intEnv(PROVIDER_ENV.minIntervalMs, 0),
};

const sqs = new SQSClient({});
const secrets = new SecretsManagerClient({});
const doc = createDocumentClient();
const stores: Omit<SyncDeps, 'provider'> = {
  accounts: new DynamoAccountStore(doc, requireEnv(ACCOUNTS_TABLE.env)),
  transactions: new DynamoTransactionStore(doc, requireEnv(TRANSACTIONS_TABLE.env)),
  runs: new DynamoSyncRunStore(
    doc,
    requireEnv(SYNC_RUNS_TABLE.env),
    intEnv(SYNC_ENV.syncRunTtlDays, 90),
  ),
  notifier: new SqsNotifier(sqs, requireEnv(NOTIFY_QUEUE.env)),
  clock: systemClock,
};
const processor = new BatchProcessor(EventType.SQS);
// The fleet-wide provider circuit (core/circuit.ts), read at most every few seconds per container.
const circuit = new ProviderCircuit(
  new DynamoCircuitStore(doc, requireEnv(CONTROL_TABLE.env)),
  systemClock,
  {
    ...DEFAULT_CIRCUIT_CONFIG,
    openMs: seconds(CIRCUIT_ENV.openSeconds, DEFAULT_CIRCUIT_CONFIG.openMs),
    maxOpenMs: seconds(CIRCUIT_ENV.maxOpenSeconds, DEFAULT_CIRCUIT_CONFIG.maxOpenMs),
    probeLeaseMs: seconds(CIRCUIT_ENV.probeLeaseSeconds, DEFAULT_CIRCUIT_CONFIG.probeLeaseMs),
  },
);
// The operators' fleet-wide interval (`npm run ops -- frequency --fleet`), cached per container.
const fleetInterval = cachedFleetInterval(
  new DynamoFleetSettingsStore(doc, requireEnv(CONTROL_TABLE.env)),
  {
    ttlMs: FLEET_SETTINGS_TTL_MS,
    onError: (error) => logger.warn('fleet settings not read', { error }),
  },
);

/** Our provider credentials could not be read: like a platform auth failure, it stops the batch. */
export class CredentialsUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`provider credentials unavailable: ${reason}`);
    this.name = 'CredentialsUnavailableError';
  }
}

/** A record not attempted because the provider circuit is open (maybe by this very batch). */
export class BatchStoppedError extends Error {
  constructor() {
    super('batch stopped by the provider circuit');
    this.name = 'BatchStoppedError';
  }
}

/** A record handed back to its queue to be tried again after its visibility delay. */
export class RetryLaterError extends Error {
  constructor(readonly errorCode: string) {
    super(`retry later: ${errorCode}`);
    this.name = 'RetryLaterError';
  }
}

const credentialsSchema = z.object({
  apiUser: z.string().check(z.minLength(1)),
  apiKey: z.string().check(z.minLength(1)),
  subscriptionKey: z.string().check(z.minLength(1)),
});

let providerClient: Promise<WalletProvider> | undefined;

/**
 * The provider client, built once per container from the Secrets Manager secret (the client
 * keeps its platform token across invocations). A failed read is forgotten, so a later record
 * or invocation tries again.
 */
function providerClientOnce(): Promise<WalletProvider> {
  providerClient ??= buildProviderClient().catch((error: unknown) => {
    providerClient = undefined;
    throw error;
  });
  return providerClient;
}

/**
 * Secrets Manager's answers that mean our setup is wrong (no such secret, no permission, no key)
 * and stay wrong until someone fixes it: they open the circuit like refused credentials. Any
 * other failure (a throttle, a reset) fails this record alone, to be retried by its queue.
 */
const SECRET_SETUP_ERRORS = new Set([
  'AccessDeniedException',
  'ResourceNotFoundException',
  'DecryptionFailure',
  'InvalidRequestException',
  'InvalidParameterException',
]);

async function buildProviderClient(): Promise<WalletProvider> {
  let secret: string | undefined;
  try {
    ({ SecretString: secret } = await secrets.send(
      new GetSecretValueCommand({ SecretId: provider.secretId }),
    ));
  } catch (error) {
    const name = (error as Error).name;
    if (!SECRET_SETUP_ERRORS.has(name)) throw error;
    throw new CredentialsUnavailableError(name);
  }
  let json: unknown;
  try {
    json = JSON.parse(secret ?? '');
  } catch {
    throw new CredentialsUnavailableError('not_json');
  }
  const parsed = credentialsSchema.safeParse(json);
  // Name the missing fields only: the secret's values must never reach a log line.
  if (!parsed.success) throw new CredentialsUnavailableError('missing_fields');
  return new MomoClient({
    baseUrl: provider.baseUrl,
    targetEnvironment: provider.targetEnvironment,
    minIntervalMs: provider.minIntervalMs,
    ...parsed.data,
    logger,
  });
}

/**
 * Where the provider circuit plugs in: called when our own provider credentials are refused or
 * unreadable. It opens the circuit stored in DynamoDB, so the fan-out and every consumer stop
 * calling the provider until a probe proves the credentials work again; the rest of this batch is
 * handed back until the reopen time. No account is touched and nobody is notified.
 */
export async function onPlatformAuthFailure(
  error: PlatformAuthError | CredentialsUnavailableError,
  gate: BatchGate,
) {
  metrics.addMetric(METRICS.platformAuthFailures, MetricUnit.Count, 1);
  const code = error instanceof PlatformAuthError ? error.code : error.reason;
  logger.error('provider refused platform credentials', { errorName: error.name, code });
  await gate.platformFailure(`${error.name}:${code}`);
}

/** The outcome to report for a sync our own credentials stopped (the engine throws instead). */
function platformFailureResult(error: PlatformAuthError | CredentialsUnavailableError): SyncResult {
  return {
    outcome: 'platform_auth_error',
    // Unreadable credentials are ours, not the provider's: no provider error class for them.
    errorCode:
      error instanceof PlatformAuthError
        ? error.sanitisedCode
        : `internal:credentials_${error.reason}`,
    counts: { added: 0, updated: 0, unchanged: 0, removed: 0, pages: 0, providerCalls: 0 },
    needsAnotherPass: false,
  };
}

/** SQS delays a message it is sent with by at most fifteen minutes. */
const MAX_DELAY_SECONDS = 15 * 60;

/** Hands a record back without calling the provider, to reappear when the circuit may close. */
async function holdForCircuit(source: SourceQueue, record: SQSRecord, until: Date): Promise<void> {
  const waitSeconds = Math.max(0, Math.ceil((until.getTime() - Date.now()) / 1000));
  if (await requeueBeforeRedrive(source, record, waitSeconds)) return;
  try {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: source.url,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, waitSeconds),
      }),
    );
  } catch (error) {
    logger.warn('visibility not changed', { error });
  }
  throw new BatchStoppedError();
}

/**
 * A record held by the circuit on its last receive would go to the DLQ with no reason on the
 * next one, though nothing failed: an outage of an hour or two would move the whole backlog
 * there. Such a record goes back as a new message, delayed and with a fresh receive count, and
 * this one counts as done (Lambda deletes it). A copy sent twice (a crash in between) costs one
 * lease race more. True when the copy is on the queue.
 */
async function requeueBeforeRedrive(
  source: SourceQueue,
  record: SQSRecord,
  waitSeconds: number,
): Promise<boolean> {
  const receives = receivesOf(record);
  if (receives < source.def.maxReceiveCount) return false;
  try {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: source.url,
        MessageBody: record.body,
        DelaySeconds: Math.min(MAX_DELAY_SECONDS, waitSeconds),
      }),
    );
  } catch (error) {
    logger.warn('held message not requeued', { error });
    return false;
  }
  logger.info('held message requeued', { receives });
  return true;
}

const messageSchema = z.object({
  accountId: z.string().check(z.minLength(1), z.maxLength(128)),
  trigger: z.enum(TRIGGERS as [Trigger, ...Trigger[]]),
  runId: z.string().check(z.minLength(1), z.maxLength(256)),
});

type Parsed = { ok: true; message: SyncMessage } | { ok: false; reason: string };

/** The message of a record, or why it is not one; the reason names fields, never values. */
export function parseSyncMessage(body: string): Parsed {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'invalid_body:not_json' };
  }
  const parsed = messageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || 'body'))];
  return { ok: false, reason: `invalid_body:${fields.join(',')}` };
}

function sourceOf(record: SQSRecord): SourceQueue {
  // An ARN ends with the queue name, a queue URL's path too (also on the local engines).
  const name = record.eventSourceARN.split(':').pop();
  const source = sources.find((queue) => queue.url.split('/').pop() === name);
  if (!source) throw new Error('record from an unknown queue');
  return source;
}

async function deadLetter(source: SourceQueue, record: SQSRecord, reason: string): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: source.dlqUrl,
      MessageBody: record.body,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: reason },
        sourceMessageId: { DataType: 'String', StringValue: record.messageId },
      },
    }),
  );
  metrics.addMetric(METRICS.deadLettered, MetricUnit.Count, 1);
  logger.warn('message dead-lettered', { reason, queue: source.def.name });
}

/** Hands the record back: it reappears after `retryAfterMs` and counts as a failed item. */
async function retryLater(
  source: SourceQueue,
  record: SQSRecord,
  result: SyncResult,
): Promise<never> {
  const code = result.errorCode ?? result.outcome;
  const delaySeconds = Math.min(
    MAX_VISIBILITY_SECONDS,
    Math.max(0, Math.ceil((result.retryAfterMs ?? 0) / 1000)),
  );
  try {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: source.url,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: delaySeconds,
      }),
    );
  } catch (error) {
    // The queue's own visibility timeout then decides when it comes back; still a retry.
    logger.warn('visibility not changed', { error });
  }
  logger.info('sync retried later', { outcome: result.outcome, errorCode: code, delaySeconds });
  throw new RetryLaterError(code);
}

/** Maps a sync result onto the queue; returns normally when the record is done with. */
async function settle(
  source: SourceQueue,
  record: SQSRecord,
  message: SyncMessage,
  result: SyncResult,
) {
  switch (result.outcome) {
    case 'synced':
    case 'skipped':
    case 'auth_required':
      return;
    case 'partial':
      // The engine checkpointed; the next pass resumes from there, on the same queue.
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: source.url,
          MessageBody: serializeSyncMessage({ ...message, trigger: 'continuation' }),
        }),
      );
      logger.info('sync continues', { pages: result.counts.pages });
      return;
    case 'transient_error':
    case 'rate_limited': {
      if (receivesOf(record) >= source.def.maxReceiveCount) {
        // The redrive policy would move it silently on the next receive; move it with a reason.
        await deadLetter(source, record, `retries_exhausted:${result.errorCode ?? result.outcome}`);
        return;
      }
      return retryLater(source, record, result);
    }
    case 'permanent_error':
      await deadLetter(source, record, result.errorCode ?? 'permanent_error');
      return;
    case 'platform_auth_error':
      // The engine throws PlatformAuthError for this; an outcome would be a contract break.
      throw new PlatformAuthError({ code: result.errorCode ?? 'platform_auth' });
  }
}

/** The record handler of one invocation; an open circuit hands every record back untouched. */
function recordHandlerFor(context: Context, gate: BatchGate) {
  return async (record: SQSRecord): Promise<void> => {
    logger.appendKeys({ messageId: record.messageId });
    try {
      const source = sourceOf(record);
      const admission = gate.next();
      if (!admission.proceed) return await holdForCircuit(source, record, admission.retryAt);
      const parsed = parseSyncMessage(record.body);
      if (!parsed.ok) {
        logger.warn('invalid sync message', { reason: parsed.reason });
        await deadLetter(source, record, parsed.reason);
        return;
      }
      const message = parsed.message;
      logger.appendKeys({ accountId: message.accountId });
      const retries = new RetryTally();
      const started = Date.now();
      try {
        const result = await syncAccount(
          { ...stores, provider: tallyRetries(await providerClientOnce(), retries) },
          {
            accountId: message.accountId,
            trigger: message.trigger,
            runId: message.runId,
            leaseOwner: `${context.awsRequestId}:${record.messageId}`,
            remainingTimeMs: () => context.getRemainingTimeInMillis(),
          },
          { ...syncConfig, fleetIntervalMinutes: await fleetInterval() },
        );
        reportSync(logger, metrics, { message, result, durationMs: Date.now() - started, retries });
        // A probe that reached the provider closes the circuit before the rest of the batch.
        await gate.completed(result.outcome);
        await settle(source, record, message, result);
      } catch (error) {
        if (error instanceof PlatformAuthError || error instanceof CredentialsUnavailableError) {
          reportSync(logger, metrics, {
            message,
            result: platformFailureResult(error),
            durationMs: Date.now() - started,
            retries,
          });
          await onPlatformAuthFailure(error, gate);
          const admission = gate.next();
          if (!admission.proceed) return await holdForCircuit(source, record, admission.retryAt);
        }
        throw error;
      }
    } finally {
      logger.removeKeys(['messageId', 'accountId']);
    }
  };
}

async function syncBatch(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // The circuit is checked once per batch; a probe due now is claimed by this batch or another.
  const gate = await circuit.forBatch(context.awsRequestId);
  try {
    return await processPartialResponse(event, recordHandlerFor(context, gate), processor, {
      context,
      // One record after another: a platform failure must stop the batch before the next call.
      processInParallel: false,
      // A fully failed batch is reported item by item like any other, not as an invocation error.
      throwOnFullBatchFailure: false,
    });
  } finally {
    // A probe claim that cannot be given back simply expires with its lease.
    await gate.finish().catch((error: unknown) => logger.warn('probe not released', { error }));
    metrics.addMetric(METRICS.circuitOpen, MetricUnit.Count, gate.isOpen() ? 1 : 0);
  }
}

export const handler = middy(syncBatch)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
