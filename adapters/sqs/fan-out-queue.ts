import type { SQSClient } from '@aws-sdk/client-sqs';
import type { FanOutTask, FanOutTaskQueue } from '../../core/fan-out';
import { type BatchSenderOptions, SqsBatchSender } from './batch-sender';

/** A fan-out task could not be queued; the caller's invocation must fail so it is retried. */
export class TaskQueueError extends Error {
  constructor(readonly failed: number) {
    super(`${failed} fan-out task(s) not queued`);
    this.name = 'TaskQueueError';
  }
}

/** The fan-out queue over SQS. */
export class SqsFanOutTaskQueue implements FanOutTaskQueue {
  private readonly sender: SqsBatchSender;

  constructor(client: SQSClient, queueUrl: string, options: BatchSenderOptions = {}) {
    this.sender = new SqsBatchSender(client, queueUrl, options);
  }

  async put(tasks: FanOutTask[], options: { delaySeconds?: number } = {}): Promise<void> {
    const { failed } = await this.sender.send(tasks, (task) => ({
      body: JSON.stringify(task),
      delaySeconds: options.delaySeconds,
    }));
    if (failed.length > 0) throw new TaskQueueError(failed.length);
  }
}
