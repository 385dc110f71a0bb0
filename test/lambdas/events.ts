/** Factories for the Lambda context and SQS events the handler tests feed in. */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

export const ACCOUNT_ID = '123456789012';
export const queueUrl = (name: string) =>
  `https://sqs.us-east-1.amazonaws.com/${ACCOUNT_ID}/${name}`;
export const queueArn = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:${name}`;

/** A Lambda context whose remaining time is fixed (or follows the given function). */
export function lambdaContext(
  overrides: Partial<Context> & { remainingMs?: number | (() => number) } = {},
): Context {
  const { remainingMs = 100_000, ...rest } = overrides;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'momo-sync-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:momo-sync-test`,
    memoryLimitInMB: '512',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/momo-sync-test',
    logStreamName: 'stream',
    getRemainingTimeInMillis: typeof remainingMs === 'function' ? remainingMs : () => remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
    ...rest,
  };
}

export interface RecordOptions {
  body: string;
  messageId?: string;
  /** Queue name (the last part of its ARN). */
  queue?: string;
  receiveCount?: number;
}

/** One SQS record as the event source mapping delivers it. */
export function sqsRecord(options: RecordOptions): SQSRecord {
  const messageId = options.messageId ?? 'msg-1';
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: options.body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '1772330400000',
      SenderId: 'AIDA',
      ApproximateFirstReceiveTimestamp: '1772330400000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn(options.queue ?? 'momo-sync-sync'),
    awsRegion: 'us-east-1',
  };
}

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/**
 * The environment the sync-account handler reads at module load, with queue URLs of this file's
 * account. Test files apply it in `vi.hoisted`, before the handler is imported.
 */
export function syncAccountEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ACCOUNTS_TABLE: 'accounts',
    TRANSACTIONS_TABLE: 'transactions',
    SYNC_RUNS_TABLE: 'sync-runs',
    CONTROL_TABLE: 'control',
    SYNC_QUEUE_URL: queueUrl('momo-sync-sync'),
    SYNC_QUEUE_DLQ_URL: queueUrl('momo-sync-sync-dlq'),
    MANUAL_QUEUE_URL: queueUrl('momo-sync-manual'),
    MANUAL_QUEUE_DLQ_URL: queueUrl('momo-sync-manual-dlq'),
    NOTIFY_QUEUE_URL: queueUrl('momo-sync-notify'),
    PROVIDER_BASE_URL: 'http://127.0.0.1:9',
    PROVIDER_TARGET_ENVIRONMENT: 'sandbox',
    PROVIDER_SECRET_ID: 'momo-sync/provider',
    ...overrides,
  };
}
