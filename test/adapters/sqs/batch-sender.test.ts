import 'aws-sdk-client-mock-vitest/extend';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsBatchSender } from '../../../adapters/sqs/batch-sender';
import { SqsSyncQueue } from '../../../adapters/sqs/sync-queue';
import type { SyncMessage } from '../../../core/model';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/momo-sync-sync';
const sqsMock = mockClient(SQSClient);

const message = (n: number): SyncMessage => ({
  accountId: `acc-${n}`,
  trigger: 'schedule',
  runId: 'schedule-2026-03-01T02:00:00.000Z',
});
const messages = (count: number) => Array.from({ length: count }, (_, i) => message(i + 1));

/** Answers every batch as fully sent. */
const acceptAll = (input: SendMessageBatchCommandInput) => ({
  Successful: (input.Entries ?? []).map((entry) => ({
    Id: entry.Id,
    MessageId: `mid-${entry.Id}`,
    MD5OfMessageBody: '',
  })),
  Failed: [],
});

const sentBodies = () =>
  sqsMock
    .commandCalls(SendMessageBatchCommand)
    .map((call) =>
      (call.args[0].input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? '')),
    );

const noWait = { sleep: async () => {}, random: () => 0.5 };

beforeEach(() => {
  sqsMock.reset();
});

describe('SqsSyncQueue.enqueue', () => {
  it.each([
    [1, [1]],
    [10, [10]],
    [25, [10, 10, 5]],
  ])('sends %i messages in batches of at most ten (%j)', async (count, sizes) => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const queue = new SqsSyncQueue(new SQSClient({}), QUEUE_URL, noWait);

    const result = await queue.enqueue(messages(count));

    expect(sentBodies().map((batch) => batch.length)).toEqual(sizes);
    expect(result).toEqual({ failed: [], requests: sizes.length });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL });
  });

  it('sends each message as exactly its account, trigger and run id', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const queue = new SqsSyncQueue(new SQSClient({}), QUEUE_URL, noWait);

    await queue.enqueue([{ ...message(1), extra: 'dropped' } as SyncMessage]);

    expect(sentBodies()).toEqual([[message(1)]]);
  });

  it('sends only the failed entries again, and reports none when the retry succeeds', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [],
        Failed: [
          { Id: 'm1', SenderFault: false, Code: 'InternalError' },
          { Id: 'm3', SenderFault: false, Code: 'InternalError' },
        ],
      })
      .callsFake(acceptAll);
    const queue = new SqsSyncQueue(new SQSClient({}), QUEUE_URL, noWait);

    const result = await queue.enqueue(messages(4));

    const [, retry] = sentBodies();
    expect(retry?.map((body) => body.accountId)).toEqual(['acc-2', 'acc-4']);
    expect(result).toEqual({ failed: [], requests: 2 });
  });

  it('returns the entries that still fail after every attempt', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: [],
      Failed: (input.Entries ?? [])
        .filter((entry) => entry.Id === 'm0')
        .map((entry) => ({ Id: entry.Id, SenderFault: false, Code: 'InternalError' })),
    }));
    const queue = new SqsSyncQueue(new SQSClient({}), QUEUE_URL, { ...noWait, maxAttempts: 3 });

    const result = await queue.enqueue(messages(2));

    expect(result).toEqual({ failed: [message(1)], requests: 3 });
  });

  it('does not send again an entry refused as the sender\u2019s fault', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: 'm0', SenderFault: true, Code: 'InvalidParameterValue' }],
    });
    const queue = new SqsSyncQueue(new SQSClient({}), QUEUE_URL, noWait);

    const result = await queue.enqueue(messages(1));

    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(result.failed).toEqual([message(1)]);
  });

  it('sends a whole batch again when its request fails', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejectsOnce(new Error('socket hang up'))
      .callsFake(acceptAll);
    const queue = new SqsSyncQueue(new SQSClient({}), QUEUE_URL, noWait);

    const result = await queue.enqueue(messages(3));

    expect(sentBodies().map((batch) => batch.length)).toEqual([3, 3]);
    expect(result).toEqual({ failed: [], requests: 2 });
  });
});

describe('SqsBatchSender', () => {
  it('keeps at most `concurrency` batches in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return acceptAll(input);
    });
    const sender = new SqsBatchSender(new SQSClient({}), QUEUE_URL, { ...noWait, concurrency: 3 });

    const result = await sender.send(messages(95), (m) => ({ body: JSON.stringify(m) }));

    expect(result.requests).toBe(10);
    expect(peak).toBe(3);
  });

  it('waits a jittered, growing backoff between attempts', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: 'm0', SenderFault: false, Code: 'InternalError' }],
    });
    const waits: number[] = [];
    const sender = new SqsBatchSender(new SQSClient({}), QUEUE_URL, {
      maxAttempts: 4,
      baseDelayMs: 100,
      maxDelayMs: 300,
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });

    await sender.send(messages(1), (m) => ({ body: JSON.stringify(m) }));

    // Half of min(cap, base * 2^n): 100, 200, then capped at 300.
    expect(waits).toEqual([50, 100, 150]);
  });

  it('passes a delay and string attributes through', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const sender = new SqsBatchSender(new SQSClient({}), QUEUE_URL, noWait);

    await sender.send(['x'], (body) => ({ body, delaySeconds: 60, attributes: { reason: 'r' } }));

    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      Entries: [
        {
          Id: 'm0',
          MessageBody: 'x',
          DelaySeconds: 60,
          MessageAttributes: { reason: { DataType: 'String', StringValue: 'r' } },
        },
      ],
    });
  });
});
