import 'aws-sdk-client-mock-vitest/extend';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SyncMessage, SyncOutcome } from '../../core/model';
import type { SyncResult } from '../../core/sync-engine';
import { lambdaContext, queueUrl, sqsEvent, sqsRecord } from './events';

await vi.hoisted(async () => {
  const { syncAccountEnv } = await import('./events');
  Object.assign(process.env, syncAccountEnv({ POWERTOOLS_METRICS_DISABLED: 'true' }));
});

// The point here is the mapping of outcomes onto the queue; the engine has its own tests.
vi.mock('../../core/sync-engine', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../core/sync-engine')>()),
  syncAccount: vi.fn(),
}));

const SYNC = { url: queueUrl('momo-sync-sync'), dlq: queueUrl('momo-sync-sync-dlq') };
const MANUAL = { url: queueUrl('momo-sync-manual'), dlq: queueUrl('momo-sync-manual-dlq') };

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);
// The engine is mocked; the only table the handler itself reads is the provider circuit's.
const docMock = mockClient(DynamoDBDocumentClient);

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let handler: Handler;
let syncMock: ReturnType<typeof vi.fn>;
/** The error class of the freshly loaded module graph, so that `instanceof` holds in the handler. */
let PlatformAuthError: typeof import('../../core/errors').PlatformAuthError;

/** A fresh container: the handler module and its caches loaded anew. */
async function coldStart() {
  vi.resetModules();
  ({ PlatformAuthError } = await import('../../core/errors'));
  const engine = await import('../../core/sync-engine');
  syncMock = vi.mocked(engine.syncAccount);
  // The mocked module outlives resetModules; its calls and answers must not.
  syncMock.mockReset();
  ({ handler } = (await import('../../lambdas/sync-account')) as unknown as { handler: Handler });
}

const message = (n = 1, overrides: Partial<SyncMessage> = {}): SyncMessage => ({
  accountId: `acc-${n}`,
  trigger: 'schedule',
  runId: 'schedule-2026-03-01T02:00:00.000Z',
  ...overrides,
});

const record = (n = 1, options: { queue?: string; receiveCount?: number; body?: string } = {}) =>
  sqsRecord({
    body: options.body ?? JSON.stringify(message(n)),
    messageId: `msg-${n}`,
    queue: options.queue,
    receiveCount: options.receiveCount,
  });

const result = (outcome: SyncOutcome, overrides: Partial<SyncResult> = {}): SyncResult => ({
  outcome,
  counts: { added: 0, updated: 0, unchanged: 0, removed: 0, pages: 1, providerCalls: 1 },
  needsAnotherPass: outcome === 'partial',
  ...overrides,
});

const transient = result('transient_error', {
  errorCode: 'transient:SERVICE_UNAVAILABLE',
  retryAfterMs: 45_500,
});

const run = async (...records: ReturnType<typeof record>[]) =>
  (await handler(sqsEvent(...records), lambdaContext())) as SQSBatchResponse;

const failedIds = (response: SQSBatchResponse) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

const credentials = { apiUser: 'user', apiKey: 'key', subscriptionKey: 'sub' };

/** An error as the SDK throws it: its name is the service's error code. */
const awsError = (name: string) => Object.assign(new Error(name), { name });

beforeEach(async () => {
  sqsMock.reset();
  secretsMock.reset();
  docMock.reset();
  docMock.on(GetCommand, { TableName: 'control' }).resolves({});
  docMock.on(PutCommand, { TableName: 'control' }).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sent' });
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(credentials) });
  await coldStart();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('sync-account handler', () => {
  it.each<SyncOutcome>(['synced', 'skipped', 'auth_required'])(
    'acknowledges a record whose sync ends %s, and sends nothing',
    async (outcome) => {
      syncMock.mockResolvedValue(result(outcome));

      const response = await run(record());

      expect(failedIds(response)).toEqual([]);
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
      expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    },
  );

  it('reports only the records that failed', async () => {
    syncMock
      .mockResolvedValueOnce(result('synced'))
      .mockResolvedValueOnce(transient)
      .mockResolvedValueOnce(result('synced'));

    const response = await run(record(1), record(2), record(3));

    expect(failedIds(response)).toEqual(['msg-2']);
    expect(syncMock).toHaveBeenCalledTimes(3);
  });

  it('hands the engine the message, a lease owner unique to the attempt and the time left', async () => {
    syncMock.mockResolvedValue(result('synced'));

    await handler(sqsEvent(record(7)), lambdaContext({ awsRequestId: 'req-9', remainingMs: 4321 }));

    const [, request] = syncMock.mock.calls[0] ?? [];
    expect(request).toMatchObject({ ...message(7), leaseOwner: 'req-9:msg-7' });
    expect(request.remainingTimeMs()).toBe(4321);
  });

  it('queues a continuation on the same queue when the sync stopped early', async () => {
    syncMock.mockResolvedValue(result('partial'));

    const response = await run(record(1, { queue: 'momo-sync-manual' }));

    expect(failedIds(response)).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: MANUAL.url,
      MessageBody: JSON.stringify(message(1, { trigger: 'continuation' })),
    });
  });

  it.each([
    ['a transient error', transient, 46],
    [
      'a rate limit',
      result('rate_limited', { errorCode: 'rate_limited:TOO_MANY_REQUESTS', retryAfterMs: 2_000 }),
      2,
    ],
    ['a backoff beyond twelve hours', { ...transient, retryAfterMs: 2 * 86_400_000 }, 43_200],
  ])(
    'after %s, hides the record for the retry delay and reports it failed',
    async (_c, outcome, seconds) => {
      syncMock.mockResolvedValue(outcome);

      const response = await run(record(1, { receiveCount: 2 }));

      expect(failedIds(response)).toEqual(['msg-1']);
      expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
        QueueUrl: SYNC.url,
        ReceiptHandle: 'rh-msg-1',
        VisibilityTimeout: seconds,
      });
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    },
  );

  it('still reports the record failed when its visibility cannot be changed', async () => {
    syncMock.mockResolvedValue(transient);
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('receipt handle expired'));

    const response = await run(record());

    expect(failedIds(response)).toEqual(['msg-1']);
  });

  it('dead-letters a record whose retries are exhausted, with the reason, and acknowledges it', async () => {
    syncMock.mockResolvedValue(transient);

    const response = await run(record(1, { receiveCount: 5 }));

    expect(failedIds(response)).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: SYNC.dlq,
      MessageBody: JSON.stringify(message(1)),
      MessageAttributes: {
        reason: {
          DataType: 'String',
          StringValue: 'retries_exhausted:transient:SERVICE_UNAVAILABLE',
        },
        sourceMessageId: { DataType: 'String', StringValue: 'msg-1' },
      },
    });
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
  });

  it('dead-letters a permanent failure with its code, and acknowledges it', async () => {
    syncMock.mockResolvedValue(
      result('permanent_error', { errorCode: 'permanent:RESOURCE_NOT_FOUND' }),
    );

    const response = await run(record());

    expect(failedIds(response)).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: SYNC.dlq,
      MessageAttributes: expect.objectContaining({
        reason: { DataType: 'String', StringValue: 'permanent:RESOURCE_NOT_FOUND' },
      }),
    });
  });

  it.each([
    ['is not JSON', '{"accountId":', 'invalid_body:not_json'],
    ['has no account', JSON.stringify({ trigger: 'manual', runId: 'r' }), 'invalid_body:accountId'],
    [
      'has an unknown trigger',
      JSON.stringify(message(1, { trigger: 'later' as never })),
      'invalid_body:trigger',
    ],
  ])('dead-letters a body that %s, with the reason, without a sync', async (_c, body, reason) => {
    const response = await run(record(1, { body, queue: 'momo-sync-manual' }));

    expect(failedIds(response)).toEqual([]);
    expect(syncMock).not.toHaveBeenCalled();
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: MANUAL.dlq,
      MessageBody: body,
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: reason },
        sourceMessageId: { DataType: 'String', StringValue: 'msg-1' },
      },
    });
  });

  it('stops at a platform auth failure and fails that record and every one after it', async () => {
    syncMock
      .mockResolvedValueOnce(result('synced'))
      .mockRejectedValueOnce(new PlatformAuthError({ code: 'INVALID_CREDENTIALS', status: 401 }))
      .mockResolvedValue(result('synced'));

    const response = await run(record(1), record(2), record(3), record(4));

    expect(failedIds(response)).toEqual(['msg-2', 'msg-3', 'msg-4']);
    expect(syncMock).toHaveBeenCalledTimes(2);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('reads the provider secret once per container', async () => {
    syncMock.mockResolvedValue(result('synced'));

    await run(record(1), record(2));
    await run(record(3));

    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: 'momo-sync/provider',
    });
  });

  it.each([
    [
      'cannot be read',
      () => secretsMock.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException')),
    ],
    [
      'lacks a field',
      () =>
        secretsMock
          .on(GetSecretValueCommand)
          .resolves({ SecretString: JSON.stringify({ apiUser: 'u', apiKey: 'k' }) }),
    ],
  ])('fails the whole batch without a sync when the secret %s', async (_c, arrange) => {
    arrange();

    const response = await run(record(1), record(2));

    expect(failedIds(response)).toEqual(['msg-1', 'msg-2']);
    expect(syncMock).not.toHaveBeenCalled();
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('fails only the records of a secret read that was throttled, and opens no circuit', async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .rejectsOnce(awsError('ThrottlingException'))
      .resolves({ SecretString: JSON.stringify(credentials) });
    syncMock.mockResolvedValue(result('synced'));

    const response = await run(record(1), record(2));

    expect(failedIds(response)).toEqual(['msg-1']);
    expect(syncMock).toHaveBeenCalledTimes(1);
    expect(docMock).not.toHaveReceivedCommandWith(PutCommand, { TableName: 'control' });
  });

  it('puts a record the circuit holds on its last receive back as a new delayed message', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-01T02:00:00Z'));
    syncMock.mockRejectedValueOnce(
      new PlatformAuthError({ code: 'INVALID_CREDENTIALS', status: 401 }),
    );
    const last = record(2, { receiveCount: 5 });

    const response = await run(record(1), last);

    // The first waits out the circuit as a failed item; the second would reach the DLQ on its
    // next receive, with no reason, though nothing failed.
    expect(failedIds(response)).toEqual(['msg-1']);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: SYNC.url,
      MessageBody: last.body,
      DelaySeconds: 300,
    });
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
  });

  it('reads the secret again once the circuit its failed read opened lets records through', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-01T02:00:00Z'));
    secretsMock
      .on(GetSecretValueCommand)
      .rejectsOnce(awsError('ResourceNotFoundException'))
      .resolves({
        SecretString: JSON.stringify(credentials),
      });
    syncMock.mockResolvedValue(result('synced'));
    await run(record(1));
    // Past the circuit's reopen time and the container's cache of it, records go through again.
    vi.setSystemTime(new Date('2026-03-01T03:00:00Z'));

    const response = await run(record(2));

    expect(failedIds(response)).toEqual([]);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it.each([
    { setting: undefined, reopenAt: '2026-03-01T02:05:00.000Z' },
    { setting: '7', reopenAt: '2026-03-01T02:00:07.000Z' },
  ])(
    'opens the circuit until CIRCUIT_OPEN_SECONDS ($setting) has passed',
    async ({ setting, reopenAt }) => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-03-01T02:00:00Z'));
      if (setting !== undefined) process.env.CIRCUIT_OPEN_SECONDS = setting;
      await coldStart();
      delete process.env.CIRCUIT_OPEN_SECONDS;
      syncMock.mockRejectedValue(
        new PlatformAuthError({ code: 'INVALID_CREDENTIALS', status: 401 }),
      );

      await run(record(1));

      expect(docMock).toHaveReceivedCommandWith(PutCommand, {
        TableName: 'control',
        Item: expect.objectContaining({ status: 'open', reopenAt }),
      });
    },
  );

  it('fails a record from a queue it does not know', async () => {
    const response = await run(record(1, { queue: 'someone-elses-queue' }));

    expect(failedIds(response)).toEqual(['msg-1']);
    expect(syncMock).not.toHaveBeenCalled();
  });
});
