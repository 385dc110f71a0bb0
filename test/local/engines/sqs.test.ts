import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlqLocalName, QUEUES, type QueueDef } from '../../../lib/resources';
import {
  createQueues,
  type LocalQueue,
  localSqsClient,
  queueAttributes,
  startLocalSqs,
} from '../../../local/engines/sqs';
import { startTestSqs, type TestSqs } from '../sqs-fixture';

let sqs: TestSqs;

beforeAll(async () => {
  sqs = await startTestSqs();
});

afterAll(async () => {
  await sqs.close();
});

describe('createQueues', () => {
  const consumerTimeoutSeconds = (queue: QueueDef) => (queue.name === 'sync' ? 20 : 10);
  let created: Record<string, LocalQueue>;

  beforeAll(async () => {
    created = await createQueues(sqs.client, QUEUES, { consumerTimeoutSeconds });
  });

  const attributesOf = async (url: string) => {
    const { Attributes = {} } = await sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }),
    );
    return Attributes;
  };

  it.each(QUEUES.map((queue) => [queue.name, queue] as const))(
    'creates the %s queue and its DLQ as lib/resources.ts defines them',
    async (_name, def) => {
      // Arrange
      const queue = created[def.name]!;

      // Act
      const attributes = await attributesOf(queue.url);
      const dlqAttributes = await attributesOf(queue.dlqUrl);

      // Assert
      expect(queue.url.endsWith(`/${def.localName}`)).toBe(true);
      expect(queue.dlqUrl.endsWith(`/${dlqLocalName(def)}`)).toBe(true);
      expect(attributes.QueueArn).toBe(queue.arn);
      expect(dlqAttributes.QueueArn).toBe(queue.dlqArn);
      expect(JSON.parse(attributes.RedrivePolicy ?? '{}')).toEqual({
        deadLetterTargetArn: queue.dlqArn,
        maxReceiveCount: def.maxReceiveCount,
      });
      expect(Number(attributes.VisibilityTimeout)).toBe(
        def.visibilityTimeoutFactor * consumerTimeoutSeconds(def),
      );
      expect(Number(attributes.MessageRetentionPeriod)).toBe(def.retentionDays * 86_400);
      expect(Number(dlqAttributes.MessageRetentionPeriod)).toBe(def.dlqRetentionDays * 86_400);
    },
  );

  it('creates exactly the queues lib/resources.ts declares, each with one DLQ', async () => {
    // Act
    const { QueueUrls = [] } = await sqs.client.send(
      new ListQueuesCommand({ QueueNamePrefix: 'momo-sync-' }),
    );

    // Assert
    const names = QueueUrls.map((url) => url.split('/').pop()).sort();
    const expected = QUEUES.flatMap((def) => [def.localName, dlqLocalName(def)]).sort();
    expect(names).toEqual(expected);
  });

  it('is safe to run again', async () => {
    // Act
    const again = await createQueues(sqs.client, QUEUES, { consumerTimeoutSeconds });

    // Assert
    expect(again).toEqual(created);
  });
});

describe('queueAttributes', () => {
  it.each([
    [6, 30, '180'],
    [6, 0.5, '3'],
    [6, 900, '5400'],
    [6, 10_000, '43200'],
  ])('sets visibility to factor %d times a %d s timeout: %s s', (factor, timeout, expected) => {
    // Arrange
    const def = { ...QUEUES[0], visibilityTimeoutFactor: factor };

    // Act
    const attributes = queueAttributes(def, 'arn:aws:sqs:us-east-1:123456789012:dlq', timeout);

    // Assert
    expect(attributes.VisibilityTimeout).toBe(expected);
  });
});

describe('local-aws-sqs engine', () => {
  it('counts a ChangeMessageVisibility as a receive (a gap the poller designs around)', async () => {
    // Arrange
    const queue = await sqs.queue({ maxReceiveCount: 10 });
    await sqs.send(queue.url, ['v']);
    const receive = () =>
      sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }));
    const first = await receive();

    // Act
    await sqs.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue.url,
        ReceiptHandle: first.Messages?.[0]?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await receive();

    // Assert
    expect(second.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('3');
  });

  it('counts the requests it answers by operation', async () => {
    // Arrange
    const queue = await sqs.queue();
    const before = sqs.engine.requests().SendMessageBatch ?? 0;

    // Act
    await sqs.send(queue.url, ['a', 'b']);

    // Assert
    expect(sqs.engine.requests().SendMessageBatch).toBe(before + 1);
  });

  it('fails to start on a port already taken, with the system error', async () => {
    // Arrange
    const taken = sqs.engine.port;

    // Act
    const starting = startLocalSqs({ port: taken });

    // Assert
    await expect(starting).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('closes its port: a second engine starts on the same port', async () => {
    // Arrange
    const first = await startLocalSqs();
    const client = localSqsClient(first.endpoint);
    await createQueues(client, [QUEUES[0]], { consumerTimeoutSeconds: 1 });
    client.destroy();
    await first.close();

    // Act
    const second = await startLocalSqs({ port: first.port });

    // Assert
    expect(second.port).toBe(first.port);
    await second.close();
  });
});
