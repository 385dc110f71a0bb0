/**
 * The notifier. For each re-link request on the notify queue it sends the owner at most one
 * OneSignal push per re-auth episode (core/relink-push.ts) and maps the outcome onto the queue:
 * done, retry after OneSignal's `Retry-After`, or dead-letter with a reason.
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
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoRelinkAccounts } from '../../adapters/dynamodb/relink-accounts';
import { ONESIGNAL_API_URL, OneSignalPush } from '../../adapters/onesignal/push';
import type { RelinkRequest } from '../../core/model';
import { systemClock } from '../../core/ports';
import { deliverRelink, parseRelinkRequest, type RelinkDelivery } from '../../core/relink-push';
import { LOG_MESSAGES, METRICS } from '../../lib/metrics';
import { ACCOUNTS_TABLE, dlqEnv, NOTIFY_QUEUE } from '../../lib/resources';
import { NOTIFIER_ENV } from '../../lib/settings';
import { requireEnv } from '../shared/env';
import { receivesOf } from '../shared/sqs-record';

/** SQS caps a message's visibility timeout at twelve hours. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;
/**
 * How long a request whose episode the account does not show yet waits before it is read again.
 * The engine writes the account right after queueing the request, so one wait is nearly always
 * enough; a request still ahead of its account after a few receives lost its write for good.
 */
const EPISODE_WAIT_SECONDS = 20;
const EPISODE_WAIT_RECEIVES = 3;

const logger = new Logger();
const metrics = new Metrics();

const settings = {
  accountsTable: requireEnv(ACCOUNTS_TABLE.env),
  queueUrl: requireEnv(NOTIFY_QUEUE.env),
  dlqUrl: requireEnv(dlqEnv(NOTIFY_QUEUE)),
  appId: requireEnv(NOTIFIER_ENV.appId),
  appScheme: requireEnv(NOTIFIER_ENV.appScheme),
  secretId: requireEnv(NOTIFIER_ENV.secretId),
  apiUrl: process.env[NOTIFIER_ENV.apiUrl] || ONESIGNAL_API_URL,
};

const sqs = new SQSClient({});
const secrets = new SecretsManagerClient({});
const accounts = new DynamoRelinkAccounts(
  new DynamoAccountStore(createDocumentClient(), settings.accountsTable),
);

/** The REST API key could not be read; the record is retried. Carries no part of the secret. */
export class ApiKeyUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`OneSignal API key unavailable: ${reason}`);
    this.name = 'ApiKeyUnavailableError';
  }
}

let apiKey: Promise<string> | undefined;

/**
 * The REST API key, read once per container. A failed read is forgotten so the next record tries
 * again, and so is a key OneSignal refused: after a rotation the next invocation reads the new one.
 */
function apiKeyOnce(): Promise<string> {
  apiKey ??= readApiKey().catch((error: unknown) => {
    apiKey = undefined;
    throw error;
  });
  return apiKey;
}

async function readApiKey(): Promise<string> {
  let secret: string | undefined;
  try {
    ({ SecretString: secret } = await secrets.send(
      new GetSecretValueCommand({ SecretId: settings.secretId }),
    ));
  } catch (error) {
    throw new ApiKeyUnavailableError((error as Error).name || 'read_failed');
  }
  const key = restApiKeyOf(secret);
  if (key === undefined) throw new ApiKeyUnavailableError('empty_or_malformed');
  return key;
}

/** The key from the secret: a JSON object with `restApiKey`, or the bare key as plain text. */
function restApiKeyOf(secret: string | undefined): string | undefined {
  const text = secret?.trim();
  if (!text) return undefined;
  if (!text.startsWith('{')) return text;
  try {
    const value = (JSON.parse(text) as { restApiKey?: unknown }).restApiKey;
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

const sender = new OneSignalPush({
  appId: settings.appId,
  appScheme: settings.appScheme,
  baseUrl: settings.apiUrl,
  apiKey: apiKeyOnce,
  onKeyRejected: () => {
    apiKey = undefined;
  },
});
const processor = new BatchProcessor(EventType.SQS);

/** A record handed back to the queue to be tried again after its visibility delay. */
export class RetryLaterError extends Error {
  constructor(readonly reason: string) {
    super(`retry later: ${reason}`);
    this.name = 'RetryLaterError';
  }
}

async function deadLetter(
  log: Logger,
  record: SQSRecord,
  reason: string,
  detail?: string,
): Promise<void> {
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: settings.dlqUrl,
      MessageBody: record.body,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: reason },
        sourceMessageId: { DataType: 'String', StringValue: record.messageId },
        ...(detail ? { detail: { DataType: 'String', StringValue: detail } } : {}),
      },
    }),
  );
  log.warn(LOG_MESSAGES.deadLettered, { reason, queue: NOTIFY_QUEUE.name });
}

/** Hands the record back to reappear after `delaySeconds`; the record counts as failed. */
async function retryLater(log: Logger, record: SQSRecord, reason: string, delaySeconds: number) {
  if (receivesOf(record) >= NOTIFY_QUEUE.maxReceiveCount) {
    // The redrive policy would move it on the next receive without a word; move it with one.
    await deadLetter(log, record, `retries_exhausted:${reason}`);
    return;
  }
  const visibility = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
  try {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: settings.queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: visibility,
      }),
    );
  } catch (error) {
    // The queue's own visibility timeout then decides when it comes back; still a retry.
    log.warn('visibility not changed', { errorName: (error as Error).name });
  }
  log.info('push retried later', { reason, delaySeconds: visibility });
  throw new RetryLaterError(reason);
}

/** Maps what the notifier did onto metrics and the queue. */
async function settle(log: Logger, record: SQSRecord, delivery: RelinkDelivery): Promise<void> {
  switch (delivery.status) {
    case 'sent':
      metrics.addMetric(METRICS.pushesSent, MetricUnit.Count, 1);
      log.info('push sent', { recorded: delivery.recorded });
      return;
    case 'no_recipients':
      // Recorded on the account and not retried: the owner has no device to push to.
      metrics.addMetric(METRICS.pushesNoRecipients, MetricUnit.Count, 1);
      log.info('push had no recipients', { recorded: delivery.recorded });
      return;
    case 'skipped':
      log.info('push not needed', { reason: delivery.reason });
      return;
    case 'wait': {
      if (receivesOf(record) >= EPISODE_WAIT_RECEIVES) {
        await deadLetter(log, record, 'episode_not_recorded');
        return;
      }
      return retryLater(log, record, 'episode_not_recorded_yet', EPISODE_WAIT_SECONDS);
    }
    case 'retry':
      metrics.addMetric(METRICS.pushFailures, MetricUnit.Count, 1);
      return retryLater(log, record, delivery.reason, delivery.retryAfterMs / 1000);
    case 'permanent':
      metrics.addMetric(METRICS.pushFailures, MetricUnit.Count, 1);
      await deadLetter(log, record, `push_rejected:${delivery.reason}`, delivery.detail);
      return;
  }
}

async function handleRecord(record: SQSRecord): Promise<void> {
  // Records of a batch run in parallel and appendKeys is shared by the whole invocation, so each
  // record logs through a child of its own: its keys never land on another record's lines.
  const log = logger.createChild();
  log.appendKeys({ messageId: record.messageId });
  let request: RelinkRequest;
  try {
    request = parseRelinkRequest(record.body);
  } catch {
    await deadLetter(log, record, 'invalid_body');
    return;
  }
  log.appendKeys({ accountId: request.accountId, episode: request.episode });
  let delivery: RelinkDelivery;
  try {
    delivery = await deliverRelink({ accounts, sender, clock: systemClock }, request);
  } catch (error) {
    // The table or the secret could not be read: the queue brings the record back later.
    metrics.addMetric(METRICS.pushFailures, MetricUnit.Count, 1);
    log.error('push not attempted', {
      errorName: (error as Error).name,
      ...(error instanceof ApiKeyUnavailableError ? { reason: error.reason } : {}),
    });
    if (receivesOf(record) >= NOTIFY_QUEUE.maxReceiveCount) {
      // The redrive policy would move it on the next receive without a word; move it with one.
      await deadLetter(log, record, `retries_exhausted:${(error as Error).name || 'error'}`);
      return;
    }
    throw error;
  }
  await settle(log, record, delivery);
}

async function notify(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return processPartialResponse(event, handleRecord, processor, {
    context,
    // A fully failed batch (OneSignal throttling all of it) is reported item by item, so each
    // record keeps the visibility it was given instead of the whole invocation failing.
    throwOnFullBatchFailure: false,
  });
}

export const handler = middy(notify)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
