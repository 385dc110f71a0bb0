import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { QueueDef } from '../resources';

/** A queue of lib/resources.ts with its dead-letter queue. */
export interface QueuePair {
  readonly def: QueueDef;
  readonly queue: Queue;
  readonly dlq: Queue;
}

/** Options of {@link createQueuePair}. */
export interface QueuePairOptions {
  /** Timeout of the function that consumes the queue; the visibility is a multiple of it. */
  readonly consumerTimeout: Duration;
  /** Customer-managed key; absent means SQS-managed encryption (SSE-SQS). */
  readonly encryptionKey?: IKey;
}

/**
 * Creates a queue and its DLQ from their definition, with construct ids `def.id` and
 * `${def.id}Dlq` in `scope` (a contract: renaming them replaces the queues). Both are encrypted
 * at rest and refuse requests that are not over TLS.
 */
export function createQueuePair(
  scope: Construct,
  def: QueueDef,
  options: QueuePairOptions,
): QueuePair {
  const encryption = options.encryptionKey
    ? { encryption: QueueEncryption.KMS, encryptionMasterKey: options.encryptionKey }
    : { encryption: QueueEncryption.SQS_MANAGED };
  const dlq = new Queue(scope, `${def.id}Dlq`, {
    ...encryption,
    enforceSSL: true,
    retentionPeriod: Duration.days(def.dlqRetentionDays),
  });
  const queue = new Queue(scope, def.id, {
    ...encryption,
    enforceSSL: true,
    retentionPeriod: Duration.days(def.retentionDays),
    visibilityTimeout: Duration.seconds(
      options.consumerTimeout.toSeconds() * def.visibilityTimeoutFactor,
    ),
    deadLetterQueue: { queue: dlq, maxReceiveCount: def.maxReceiveCount },
  });
  return { def, queue, dlq };
}
