import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsNotifier } from '../../../adapters/sqs/notify-queue';
import type { RelinkRequest } from '../../../core/model';
import { parseRelinkRequest } from '../../../core/relink-push';
import type { LocalQueue } from '../../../local/engines/sqs';
import { startTestSqs, type TestSqs } from '../../local/sqs-fixture';

let sqs: TestSqs;
let queue: LocalQueue;

beforeAll(async () => {
  sqs = await startTestSqs();
  queue = await sqs.queue();
});

afterAll(() => sqs.close());

describe('SqsNotifier', () => {
  it('queues one message per request that the notifier reads back as the same request', async () => {
    const request: RelinkRequest = {
      accountId: 'acc-1',
      ownerId: 'user-1',
      episode: 3,
      reason: 'link_revoked',
    };

    await new SqsNotifier(sqs.client, queue.url).requestRelink(request);

    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10 }),
    );
    expect(Messages).toHaveLength(1);
    expect(parseRelinkRequest(Messages[0]?.Body ?? '')).toEqual(request);
  });
});
