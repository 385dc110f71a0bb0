import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RelinkRequest } from '../../core/model';
import type { Notifier } from '../../core/ports';

/**
 * The notifier port over the notify queue: one message per re-link request. Delivery is the
 * notifier Lambda's business, which makes it exactly-once per re-auth episode.
 */
export class SqsNotifier implements Notifier {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async requestRelink(request: RelinkRequest): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({
          accountId: request.accountId,
          ownerId: request.ownerId,
          episode: request.episode,
          reason: request.reason,
        }),
      }),
    );
  }
}
