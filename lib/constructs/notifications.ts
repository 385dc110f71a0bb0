import { ArnFormat, type Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { ILogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { MomoSyncConfig } from '../config';
import { ACCOUNTS_TABLE, dlqEnv, NOTIFY_QUEUE } from '../resources';
import { NOTIFIER_ENV } from '../settings';
import type { Data } from './data';
import { SyncFunction } from './function';
import type { QueuePair } from './queue';

/** Props of {@link Notifications}. */
export interface NotificationsProps {
  readonly config: MomoSyncConfig;
  readonly data: Data;
  /** The notify queue and its DLQ (lib/resources.ts NOTIFY_QUEUE), created by the stack. */
  readonly notifyQueue: QueuePair;
  /**
   * The notifier's timeout; the notify queue's visibility was sized from it, so a push is never
   * handled twice at once.
   */
  readonly timeout: Duration;
  /** Customer-managed key of the tables and queues; absent means AWS-managed keys. */
  readonly encryptionKey?: IKey;
  readonly logRetention: RetentionDays;
}

/**
 * Re-link pushes: the notifier Lambda on the notify queue, sending through OneSignal with the
 * REST API key from Secrets Manager. It may read an account and mark its episode notified, hand
 * a request back to its queue and dead-letter one, and read its one secret: nothing else.
 */
export class Notifications extends Construct {
  readonly notifier: NodejsFunction;
  readonly logGroup: ILogGroup;
  /** The ARN pattern of the OneSignal secret the notifier may read. */
  readonly secretArn: string;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const { config, data, notifyQueue, encryptionKey } = props;
    const settings = config.notifications;

    const fn = new SyncFunction(this, 'Notifier', {
      entry: 'notifier',
      serviceName: 'notifier',
      timeout: props.timeout,
      // The work is a table read, one HTTPS call and a conditional write: memory buys nothing.
      memorySize: 256,
      logRetention: props.logRetention,
      environment: {
        [ACCOUNTS_TABLE.env]: data.accounts.tableName,
        [NOTIFY_QUEUE.env]: notifyQueue.queue.queueUrl,
        [dlqEnv(NOTIFY_QUEUE)]: notifyQueue.dlq.queueUrl,
        [NOTIFIER_ENV.appId]: settings.oneSignalAppId,
        [NOTIFIER_ENV.appScheme]: settings.appScheme,
        [NOTIFIER_ENV.secretId]: settings.secretName,
      },
    });
    this.notifier = fn.function;
    this.logGroup = fn.logGroup;

    this.notifier.addEventSource(
      new SqsEventSource(notifyQueue.queue, {
        batchSize: settings.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: settings.maximumConcurrency,
      }),
    );

    // Secrets Manager appends six random characters to a secret's ARN; `??????` matches exactly
    // those, so the grant covers this secret and no other whose name merely starts the same.
    this.secretArn = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${settings.secretName}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // A consistent read of the account, and the conditional update that marks its episode.
    this.allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [data.accounts.tableArn]);
    // Requests OneSignal will never take go to the DLQ with their reason; the event source
    // already grants receiving, deleting and changing the visibility on the queue itself.
    this.allow(['sqs:SendMessage'], [notifyQueue.dlq.queueArn]);
    this.allow(['secretsmanager:GetSecretValue'], [this.secretArn]);
    if (encryptionKey) {
      encryptionKey.grant(this.notifier, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
    }
  }

  private allow(actions: string[], resources: string[]): void {
    this.notifier.addToRolePolicy(new PolicyStatement({ actions, resources }));
  }
}
