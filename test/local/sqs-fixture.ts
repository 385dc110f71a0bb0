/**
 * One local-aws-sqs engine per test file, and throwaway queues on it with short timeouts so
 * redeliveries happen within a test's patience.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueDef } from '../../lib/resources';
import {
  createQueues,
  type LocalQueue,
  localSqsClient,
  type RunningSqs,
  startLocalSqs,
} from '../../local/engines/sqs';

export interface TestSqs {
  engine: RunningSqs;
  client: SQSClient;
  /** A new queue and DLQ with a 1 s visibility timeout. */
  queue(overrides?: Partial<QueueDef>): Promise<LocalQueue>;
  /** Sends bodies in batches of ten; returns the message ids in order. */
  send(queueUrl: string, bodies: string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** A queue definition for tests; the visibility timeout is its factor times 1 s. */
export function makeQueueDef(overrides: Partial<QueueDef> = {}): QueueDef {
  const name = `q-${randomUUID().slice(0, 8)}`;
  return {
    id: 'TestQueue',
    name,
    localName: name,
    env: 'TEST_QUEUE_URL',
    maxReceiveCount: 3,
    visibilityTimeoutFactor: 1,
    retentionDays: 1,
    dlqRetentionDays: 1,
    ...overrides,
  };
}

export async function startTestSqs(): Promise<TestSqs> {
  const engine = await startLocalSqs();
  const client = localSqsClient(engine.endpoint);
  return {
    engine,
    client,
    async queue(overrides = {}) {
      const def = makeQueueDef(overrides);
      const created = await createQueues(client, [def], { consumerTimeoutSeconds: 1 });
      return created[def.name]!;
    },
    async send(queueUrl, bodies) {
      const ids: string[] = [];
      for (let start = 0; start < bodies.length; start += 10) {
        const chunk = bodies.slice(start, start + 10);
        const { Successful = [] } = await client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((body, index) => ({ Id: String(index), MessageBody: body })),
          }),
        );
        const byId = new Map(Successful.map((entry) => [entry.Id, entry.MessageId ?? '']));
        ids.push(...chunk.map((_, index) => byId.get(String(index)) ?? ''));
      }
      return ids;
    },
    async close() {
      client.destroy();
      await engine.close();
    },
  };
}
