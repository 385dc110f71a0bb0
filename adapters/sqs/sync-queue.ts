import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SyncMessage } from '../../core/model';
import type { SyncQueue } from '../../core/ports';
import { type BatchSenderOptions, SqsBatchSender } from './batch-sender';

/** The sync queue (or the manual one) over SQS: one message per account, sent ten at a time. */
export class SqsSyncQueue implements SyncQueue {
  private readonly sender: SqsBatchSender;

  constructor(client: SQSClient, queueUrl: string, options: BatchSenderOptions = {}) {
    this.sender = new SqsBatchSender(client, queueUrl, options);
  }

  async enqueue(messages: SyncMessage[]): Promise<{ failed: SyncMessage[]; requests: number }> {
    return this.sender.send(messages, (message) => ({ body: serializeSyncMessage(message) }));
  }
}

/** The body of a sync message: exactly the three fields, whatever else the object carries. */
export function serializeSyncMessage(message: SyncMessage): string {
  return JSON.stringify({
    accountId: message.accountId,
    trigger: message.trigger,
    runId: message.runId,
  });
}
