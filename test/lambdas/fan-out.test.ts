import 'aws-sdk-client-mock-vitest/extend';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { FanOutTask } from '../../core/fan-out';
import { lambdaContext, queueUrl, sqsEvent, sqsRecord } from './events';

const SEGMENTS = 12;
vi.hoisted(() => {
  const url = (name: string) => `https://sqs.us-east-1.amazonaws.com/123456789012/${name}`;
  Object.assign(process.env, {
    ACCOUNTS_TABLE: 'accounts',
    IDEMPOTENCY_TABLE: 'idempotency',
    CONTROL_TABLE: 'control',
    SYNC_QUEUE_URL: url('momo-sync-sync'),
    FANOUT_QUEUE_URL: url('momo-sync-fanout'),
    FANOUT_SCAN_SEGMENTS: '12',
    SYNC_DUE_TOLERANCE_MINUTES: '60',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
});

const { handler } = await import('../../lambdas/fan-out');

const SYNC_URL = queueUrl('momo-sync-sync');
const FANOUT_URL = queueUrl('momo-sync-fanout');
const SCHEDULED = '2026-03-01T02:00:00Z';
const RUN_ID = 'schedule-2026-03-01T02:00:00.000Z';
const DUE_BY = '2026-03-01T03:00:00.000Z';

const sqsMock = mockClient(SQSClient);
const docMock = mockClient(DynamoDBDocumentClient);
const dynamoMock = mockClient(DynamoDBClient);

/** Powertools' idempotency records, kept the way DynamoDB would keep them. */
const idempotencyRecords = new Map<string, Record<string, AttributeValue>>();

function fakeIdempotencyTable() {
  const keyOf = (key: Record<string, AttributeValue> | undefined) => key?.id?.S ?? '';
  dynamoMock.on(PutItemCommand).callsFake((input) => {
    const id = keyOf(input.Item);
    const existing = idempotencyRecords.get(id);
    if (existing) {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: existing,
      });
    }
    idempotencyRecords.set(id, input.Item);
    return {};
  });
  dynamoMock.on(UpdateItemCommand).callsFake((input) => {
    const id = keyOf(input.Key);
    const item = { ...idempotencyRecords.get(id) };
    for (const assignment of input.UpdateExpression.replace(/^SET /, '').split(', ')) {
      const [name, value] = assignment.split(' = ');
      item[input.ExpressionAttributeNames[name]] = input.ExpressionAttributeValues[value];
    }
    idempotencyRecords.set(id, item);
    return {};
  });
  dynamoMock.on(DeleteItemCommand).callsFake((input) => {
    idempotencyRecords.delete(keyOf(input.Key));
    return {};
  });
  dynamoMock
    .on(GetItemCommand)
    .callsFake((input) => ({ Item: idempotencyRecords.get(keyOf(input.Key)) }));
}

const acceptAll = (input: SendMessageBatchCommandInput) => ({
  Successful: (input.Entries ?? []).map((e) => ({
    Id: e.Id,
    MessageId: 'm',
    MD5OfMessageBody: '',
  })),
  Failed: [],
});

/** Bodies sent to one queue, batch by batch. */
const batchesTo = (url: string) =>
  sqsMock
    .commandCalls(SendMessageBatchCommand)
    .filter((call) => call.args[0].input.QueueUrl === url)
    .map((call) => (call.args[0].input.Entries ?? []).map((e) => JSON.parse(e.MessageBody ?? '')));

const dueItem = (n: number) => ({
  accountId: `acc-${n}`,
  ownerId: `user-${n}`,
  dueAt: '2026-03-01T01:30:00.000Z',
  syncStatus: 'active',
});

const task = (overrides: Partial<FanOutTask> = {}): FanOutTask => ({
  runId: RUN_ID,
  dueBy: DUE_BY,
  segment: 5,
  totalSegments: SEGMENTS,
  ...overrides,
});

const taskEvent = (body: unknown) =>
  sqsEvent(sqsRecord({ body: JSON.stringify(body), queue: 'momo-sync-fanout' }));

beforeEach(() => {
  sqsMock.reset();
  docMock.reset();
  dynamoMock.reset();
  idempotencyRecords.clear();
  fakeIdempotencyTable();
  sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
  // The provider circuit's item: none, so closed.
  docMock.on(GetCommand, { TableName: 'control' }).resolves({});
});

describe('fan-out, invoked by the schedule', () => {
  it('plans one task per scan segment on the fan-out queue, in batches of ten', async () => {
    await handler({ scheduledTime: SCHEDULED }, lambdaContext());

    const batches = batchesTo(FANOUT_URL);
    expect(batches.map((batch) => batch.length)).toEqual([10, 2]);
    expect(batches.flat()).toEqual(
      Array.from({ length: SEGMENTS }, (_, segment) => task({ segment })),
    );
    expect(batchesTo(SYNC_URL)).toEqual([]);
  });

  it('does not plan the run again when the scheduler or Lambda repeats the invocation', async () => {
    const first = await handler({ scheduledTime: SCHEDULED }, lambdaContext({ awsRequestId: 'a' }));

    const repeat = await handler(
      { scheduledTime: SCHEDULED },
      lambdaContext({ awsRequestId: 'b' }),
    );

    expect(batchesTo(FANOUT_URL).flat()).toHaveLength(SEGMENTS);
    expect(repeat).toEqual(first);
    expect(repeat).toMatchObject({ runId: RUN_ID, plannedBy: 'a' });
  });

  it('plans the next occurrence as a run of its own', async () => {
    await handler({ scheduledTime: SCHEDULED }, lambdaContext({ awsRequestId: 'a' }));

    await handler({ scheduledTime: '2026-03-02T02:00:00Z' }, lambdaContext({ awsRequestId: 'b' }));

    expect(batchesTo(FANOUT_URL).flat()).toHaveLength(2 * SEGMENTS);
  });

  it('plans the run on a retry when the first attempt could not queue its tasks', async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('service unavailable'));
    await expect(handler({ scheduledTime: SCHEDULED }, lambdaContext())).rejects.toThrow();
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    sqsMock.resetHistory();

    await handler({ scheduledTime: SCHEDULED }, lambdaContext({ awsRequestId: 'retry' }));

    expect(batchesTo(FANOUT_URL).flat()).toHaveLength(SEGMENTS);
  });

  it('fails on an event without a scheduled time, queueing nothing', async () => {
    await expect(handler({ scheduledTime: 'soon' }, lambdaContext())).rejects.toThrow(
      'invalid scheduled time',
    );

    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });
});

describe('fan-out, invoked with a segment task', () => {
  it('queues no sync while the provider circuit is open and puts the task off until it may close', async () => {
    const reopenAt = new Date(Date.now() + 120_000).toISOString();
    docMock.on(GetCommand, { TableName: 'control' }).resolves({
      Item: { pk: 'circuit#provider', status: 'open', version: 1, trips: 1, reopenAt },
    });
    docMock.on(ScanCommand).resolves({ Items: [dueItem(1)] });

    const response = (await handler(taskEvent(task()), lambdaContext())) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([]);
    expect(docMock).not.toHaveReceivedCommand(ScanCommand);
    expect(batchesTo(SYNC_URL)).toEqual([]);
    expect(batchesTo(FANOUT_URL)).toEqual([[task()]]);
    const [delayed] = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(delayed?.args[0].input.Entries?.[0]?.DelaySeconds).toBeGreaterThan(100);
    expect(delayed?.args[0].input.Entries?.[0]?.DelaySeconds).toBeLessThanOrEqual(120);
  });

  it('queues a scheduled sync for every due account of the segment, ten per request', async () => {
    docMock.on(ScanCommand).resolves({ Items: Array.from({ length: 23 }, (_, i) => dueItem(i)) });

    const response = (await handler(taskEvent(task()), lambdaContext())) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([]);
    expect(docMock).toHaveReceivedCommandWith(ScanCommand, {
      TableName: 'accounts',
      Segment: 5,
      TotalSegments: SEGMENTS,
      ExpressionAttributeValues: expect.objectContaining({ ':dueBy': DUE_BY }),
    });
    const batches = batchesTo(SYNC_URL);
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 3]);
    expect(batches.flat()[0]).toEqual({ accountId: 'acc-0', trigger: 'schedule', runId: RUN_ID });
    expect(batchesTo(FANOUT_URL)).toEqual([]);
  });

  it('sends again only the entries SQS refused', async () => {
    docMock.on(ScanCommand).resolves({ Items: [dueItem(1), dueItem(2), dueItem(3)] });
    sqsMock
      .on(SendMessageBatchCommand, { QueueUrl: SYNC_URL })
      .resolvesOnce({
        Successful: [],
        Failed: [{ Id: 'm1', SenderFault: false, Code: 'InternalError' }],
      })
      .callsFake(acceptAll);

    const response = (await handler(taskEvent(task()), lambdaContext())) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([]);
    expect(batchesTo(SYNC_URL).map((batch) => batch.map((body) => body.accountId))).toEqual([
      ['acc-1', 'acc-2', 'acc-3'],
      ['acc-2'],
    ]);
  });

  it('puts a continuation task from the next page when time runs short', async () => {
    const nextKey = { accountId: 'acc-2' };
    docMock
      .on(ScanCommand)
      .resolves({ Items: [dueItem(1), dueItem(2)], LastEvaluatedKey: nextKey });

    await handler(taskEvent(task()), lambdaContext({ remainingMs: 10_000 }));

    expect(docMock).toHaveReceivedCommandTimes(ScanCommand, 1);
    expect(batchesTo(FANOUT_URL)).toEqual([[task({ startKey: nextKey })]]);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      QueueUrl: FANOUT_URL,
      Entries: [expect.not.objectContaining({ DelaySeconds: expect.anything() })],
    });
  });

  it('continues a task from its start key', async () => {
    const startKey = { accountId: 'acc-9' };
    docMock.on(ScanCommand).resolves({ Items: [] });

    await handler(taskEvent(task({ startKey })), lambdaContext());

    expect(docMock).toHaveReceivedCommandWith(ScanCommand, { ExclusiveStartKey: startKey });
  });

  it('queues the page again a minute later when some syncs could not be queued', async () => {
    docMock.on(ScanCommand).resolves({ Items: [dueItem(1)] });
    sqsMock
      .on(SendMessageBatchCommand, { QueueUrl: SYNC_URL })
      .resolves({ Successful: [], Failed: [{ Id: 'm0', SenderFault: true, Code: 'Invalid' }] });

    const response = (await handler(taskEvent(task()), lambdaContext())) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([]);
    expect(batchesTo(FANOUT_URL)).toEqual([[task({ retries: 1 })]]);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      QueueUrl: FANOUT_URL,
      Entries: [expect.objectContaining({ DelaySeconds: 60 })],
    });
  });

  it('hands the task back to its queue once a page has failed too often', async () => {
    docMock.on(ScanCommand).resolves({ Items: [dueItem(1)] });
    sqsMock
      .on(SendMessageBatchCommand, { QueueUrl: SYNC_URL })
      .resolves({ Successful: [], Failed: [{ Id: 'm0', SenderFault: true, Code: 'Invalid' }] });

    const response = (await handler(
      taskEvent(task({ retries: 3 })),
      lambdaContext(),
    )) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-1' }]);
    expect(batchesTo(FANOUT_URL)).toEqual([]);
  });

  it('reports a malformed task as a failed item, scanning nothing', async () => {
    const response = (await handler(
      taskEvent({ runId: RUN_ID, segment: -1 }),
      lambdaContext(),
    )) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'msg-1' }]);
    expect(docMock).not.toHaveReceivedCommand(ScanCommand);
  });
});
