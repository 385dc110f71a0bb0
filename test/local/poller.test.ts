import { createHash, randomUUID } from 'node:crypto';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isEmpty, type LocalQueue, queueDepth } from '../../local/engines/sqs';
import { createPoller, type Poller, type PollerOptions } from '../../local/poller';
import { startTestSqs, type TestSqs } from './sqs-fixture';

let sqs: TestSqs;
const running: Poller[] = [];

beforeAll(async () => {
  sqs = await startTestSqs();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((poller) => poller.stop()));
});

afterAll(async () => {
  await sqs.close();
});

interface Delivery {
  body: string;
  receiveCount: number;
}

type Decide = (record: SQSRecord, event: SQSEvent) => 'ok' | 'fail' | 'throw';

/** A handler that records every delivery and fails or throws where `decide` says. */
function recordingHandler(decide: Decide = () => 'ok') {
  const deliveries: Delivery[] = [];
  const events: SQSEvent[] = [];
  const contexts: Context[] = [];
  const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    events.push(event);
    contexts.push(context);
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    let shouldThrow = false;
    for (const record of event.Records) {
      deliveries.push({
        body: record.body,
        receiveCount: Number(record.attributes.ApproximateReceiveCount),
      });
      const verdict = decide(record, event);
      if (verdict === 'fail') batchItemFailures.push({ itemIdentifier: record.messageId });
      if (verdict === 'throw') shouldThrow = true;
    }
    if (shouldThrow) throw new Error('handler failed');
    return { batchItemFailures };
  };
  const deliveriesOf = (body: string) => deliveries.filter((d) => d.body === body);
  return { handler, deliveries, deliveriesOf, events, contexts };
}

async function startPoller(
  queue: LocalQueue,
  handler: PollerOptions['handler'],
  options: Partial<PollerOptions> = {},
): Promise<Poller> {
  const poller = createPoller({
    sqs: sqs.client,
    queueUrl: queue.url,
    handler,
    functionName: 'test-function',
    timeoutMs: 5_000,
    idleDelayMs: 20,
    ...options,
  });
  running.push(poller);
  await poller.start();
  return poller;
}

const firstReceive = (record: SQSRecord) => record.attributes.ApproximateReceiveCount === '1';

describe('createPoller', () => {
  it('deletes every record of a batch that succeeds, and drain resolves once they are gone', async () => {
    // Arrange
    const queue = await sqs.queue();
    const bodies = Array.from({ length: 25 }, (_, index) => `m${index}`);
    await sqs.send(queue.url, bodies);
    const recorder = recordingHandler();

    // Act
    const poller = await startPoller(queue, recorder.handler);
    await poller.drain();

    // Assert
    expect(recorder.deliveries.map((d) => d.body).sort()).toEqual([...bodies].sort());
    expect(isEmpty(await queueDepth(sqs.client, queue.url))).toBe(true);
    expect(poller.stats()).toMatchObject({ records: 25, deleted: 25, failedRecords: 0 });
  });

  it('re-delivers only the records named in batchItemFailures', async () => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.send(queue.url, ['keep-a', 'retry-b', 'keep-c']);
    const recorder = recordingHandler((record) =>
      record.body === 'retry-b' && firstReceive(record) ? 'fail' : 'ok',
    );

    // Act
    const poller = await startPoller(queue, recorder.handler);
    await poller.drain();

    // Assert
    expect(recorder.deliveriesOf('keep-a')).toHaveLength(1);
    expect(recorder.deliveriesOf('keep-c')).toHaveLength(1);
    expect(recorder.deliveriesOf('retry-b').map((d) => d.receiveCount)).toEqual([1, 2]);
  });

  it('re-delivers the whole batch when the handler throws', async () => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.send(queue.url, ['x', 'y', 'z']);
    let thrown = false;
    const recorder = recordingHandler(() => {
      if (thrown) return 'ok';
      thrown = true;
      return 'throw';
    });
    const errors: unknown[] = [];

    // Act
    const poller = await startPoller(queue, recorder.handler, {
      maximumConcurrency: 1,
      onError: (error) => errors.push(error),
    });
    await poller.drain();

    // Assert
    for (const body of ['x', 'y', 'z']) {
      expect(recorder.deliveriesOf(body).map((d) => d.receiveCount)).toEqual([1, 2]);
    }
    expect(poller.stats().handlerErrors).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ message: 'handler failed' })]);
  });

  it.each([
    ['an identifier that is not in the batch', 'not-a-message-id'],
    ['an empty identifier', ''],
  ])('fails the whole batch when batchItemFailures names %s', async (_case, identifier) => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.send(queue.url, ['p', 'q']);
    let answered = false;
    const recorder = recordingHandler();
    const handler = async (event: SQSEvent, context: Context) => {
      await recorder.handler(event, context);
      if (answered) return { batchItemFailures: [] };
      answered = true;
      return { batchItemFailures: [{ itemIdentifier: identifier }] };
    };

    // Act
    const poller = await startPoller(queue, handler, { maximumConcurrency: 1 });
    await poller.drain();

    // Assert
    expect(recorder.deliveriesOf('p')).toHaveLength(2);
    expect(recorder.deliveriesOf('q')).toHaveLength(2);
  });

  it('counts receives up and moves the message to the DLQ after maxReceiveCount', async () => {
    // Arrange
    const queue = await sqs.queue({ maxReceiveCount: 3 });
    await sqs.send(queue.url, ['poison']);
    const recorder = recordingHandler(() => 'fail');

    // Act
    const poller = await startPoller(queue, recorder.handler, {
      dlqUrl: queue.dlqUrl,
      maxReceiveCount: 3,
    });
    await poller.drain();

    // Assert
    expect(recorder.deliveriesOf('poison').map((d) => d.receiveCount)).toEqual([1, 2, 3]);
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, AttributeNames: ['All'] }),
    );
    expect(Messages.map((message) => message.Body)).toEqual(['poison']);
    expect(Messages[0]?.Attributes?.DeadLetterQueueSourceArn).toBe(queue.arn);
  });

  it('moves an over-received message to the DLQ itself when the queue has no redrive policy', async () => {
    // Arrange
    const dlq = await sqs.queue();
    const { QueueUrl: bareUrl } = await sqs.client.send(
      new CreateQueueCommand({
        QueueName: `bare-${randomUUID().slice(0, 8)}`,
        Attributes: { VisibilityTimeout: '1' },
      }),
    );
    const bare = { ...dlq, url: bareUrl!, arn: '' };
    await sqs.send(bare.url, ['poison']);
    const recorder = recordingHandler(() => 'fail');

    // Act
    const poller = await startPoller(bare, recorder.handler, {
      dlqUrl: dlq.url,
      maxReceiveCount: 2,
    });
    await poller.drain();

    // Assert
    expect(recorder.deliveriesOf('poison').map((d) => d.receiveCount)).toEqual([1, 2]);
    expect(poller.stats().deadLettered).toBe(1);
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: dlq.url }),
    );
    expect(Messages.map((message) => message.Body)).toEqual(['poison']);
  });

  it('never handles more than maximumConcurrency batches at once', async () => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.send(
      queue.url,
      Array.from({ length: 30 }, (_, index) => `c${index}`),
    );
    let current = 0;
    let peak = 0;
    const handler = async () => {
      current += 1;
      peak = Math.max(peak, current);
      await new Promise((resolve) => setTimeout(resolve, 30));
      current -= 1;
    };

    // Act
    const poller = await startPoller(queue, handler, { batchSize: 1, maximumConcurrency: 3 });
    await poller.drain();

    // Assert
    expect(peak).toBe(3);
    expect(poller.stats()).toMatchObject({ invocations: 30, peakConcurrency: 3 });
  });

  it('gives each concurrent slot its own handler, which never runs two batches at once', async () => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.send(
      queue.url,
      Array.from({ length: 24 }, (_, index) => `e${index}`),
    );
    const busy = [false, false, false];
    const overlaps: number[] = [];
    const invocations = [0, 0, 0];
    const environments = busy.map((_, slot) => async () => {
      if (busy[slot]) overlaps.push(slot);
      busy[slot] = true;
      invocations[slot] = (invocations[slot] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
      busy[slot] = false;
    });

    // Act
    const poller = await startPoller(queue, environments, { batchSize: 1, maximumConcurrency: 3 });
    await poller.drain();

    // Assert
    expect(overlaps).toEqual([]);
    expect(invocations.every((count) => count > 0)).toBe(true);
    expect(invocations.reduce((sum, count) => sum + count, 0)).toBe(24);
  });

  it('hands the handler a record in the shape Lambda builds', async () => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: '{"accountId":"acc-1"}',
        MessageAttributes: {
          trigger: { DataType: 'String', StringValue: 'manual' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
    );
    const recorder = recordingHandler();

    // Act
    const poller = await startPoller(queue, recorder.handler, { region: 'eu-west-1' });
    await poller.drain();

    // Assert
    const record = recorder.events[0]?.Records[0];
    expect(record).toMatchObject({
      body: '{"accountId":"acc-1"}',
      md5OfBody: createHash('md5').update('{"accountId":"acc-1"}').digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: 'eu-west-1',
      messageAttributes: {
        trigger: {
          stringValue: 'manual',
          stringListValues: [],
          binaryListValues: [],
          dataType: 'String',
        },
        blob: {
          binaryValue: Buffer.from('hi').toString('base64'),
          stringListValues: [],
          binaryListValues: [],
          dataType: 'Binary',
        },
      },
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: expect.stringMatching(/^\d+$/) },
    });
    expect(record?.messageId).toEqual(expect.any(String));
    expect(record?.receiptHandle).toEqual(expect.any(String));
  });

  it('gives the handler a Context whose remaining time counts down from the timeout', async () => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.send(queue.url, ['t']);
    const remaining: number[] = [];
    const contexts: Context[] = [];
    const handler = async (_event: SQSEvent, context: Context) => {
      contexts.push(context);
      remaining.push(context.getRemainingTimeInMillis());
      await new Promise((resolve) => setTimeout(resolve, 20));
      remaining.push(context.getRemainingTimeInMillis());
    };

    // Act
    const poller = await startPoller(queue, handler, {
      functionName: 'sync-account',
      timeoutMs: 4_000,
    });
    await poller.drain();

    // Assert
    expect(remaining).toHaveLength(2);
    expect(remaining[0]).toBeLessThanOrEqual(4_000);
    expect(remaining[1]).toBeLessThan(remaining[0]!);
    expect(contexts[0]).toMatchObject({
      functionName: 'sync-account',
      awsRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('counts its SQS requests by operation', async () => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.send(
      queue.url,
      Array.from({ length: 20 }, (_, index) => `r${index}`),
    );

    // Act
    const poller = await startPoller(queue, async () => undefined, { maximumConcurrency: 1 });
    await poller.drain();
    await poller.stop();
    const stats = poller.stats();

    // Assert
    expect(stats.invocations).toBeGreaterThanOrEqual(2);
    expect(stats.requests.DeleteMessageBatch).toBe(stats.invocations);
    expect(stats.requests.ReceiveMessage).toBe(stats.invocations + stats.emptyReceives);
  });

  it('stops receiving once stopped, leaving new messages in the queue', async () => {
    // Arrange
    const queue = await sqs.queue();
    const recorder = recordingHandler();
    const poller = await startPoller(queue, recorder.handler);

    // Act
    await poller.stop();
    await sqs.send(queue.url, ['after-stop']);
    await new Promise((resolve) => setTimeout(resolve, 150));

    // Assert
    expect(recorder.deliveries).toEqual([]);
    expect((await queueDepth(sqs.client, queue.url)).visible).toBe(1);
  });

  it('rejects drain when the queue does not empty in time', async () => {
    // Arrange
    const queue = await sqs.queue();
    await sqs.send(queue.url, ['stuck']);
    const poller = createPoller({
      sqs: sqs.client,
      queueUrl: queue.url,
      handler: async () => undefined,
      functionName: 'never-started',
      timeoutMs: 1_000,
    });

    // Act
    const drained = poller.drain({ timeoutMs: 100 });

    // Assert
    await expect(drained).rejects.toThrow('did not drain in time');
  });

  it.each([
    [{ batchSize: 0 }, 'batchSize'],
    [{ batchSize: 11 }, 'batchSize'],
    [{ maximumConcurrency: 0 }, 'maximumConcurrency'],
    [{ maximumConcurrency: 3, handler: [async () => undefined, async () => undefined] }, 'handler'],
  ])('fails if given %o', (overrides, field) => {
    // Arrange
    const options: PollerOptions = {
      sqs: sqs.client,
      queueUrl: 'http://127.0.0.1:1/123456789012/none',
      handler: async () => undefined,
      functionName: 'f',
      timeoutMs: 1_000,
      ...overrides,
    };

    // Act
    const create = () => createPoller(options);

    // Assert
    expect(create).toThrow(field);
  });
});
