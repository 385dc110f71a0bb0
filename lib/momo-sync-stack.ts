import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { MomoSyncConfig } from './config';
import { AppApi } from './constructs/api';
import { Data } from './constructs/data';
import { Monitoring } from './constructs/monitoring';
import { Notifications } from './constructs/notifications';
import { addOperatorOutputs } from './constructs/operator-outputs';
import { createQueuePair, type QueuePair } from './constructs/queue';
import { SyncPipeline } from './constructs/sync-pipeline';
import { NOTIFY_QUEUE } from './resources';

/** Props of {@link MomoSyncStack}. */
export interface MomoSyncStackProps extends StackProps {
  readonly config: MomoSyncConfig;
}

/**
 * Timeout the notify queue's visibility is sized for. The notifier function (its own construct)
 * must not run longer, or a push could be sent twice while the first attempt still runs.
 */
export const NOTIFIER_TIMEOUT = Duration.seconds(30);

/** momo-sync: one construct per concern, composed here and exported for the ones to come. */
export class MomoSyncStack extends Stack {
  /** The customer-managed key of the tables and queues, when configured. */
  readonly encryptionKey?: Key;
  readonly data: Data;
  readonly notifyQueue: QueuePair;
  readonly pipeline: SyncPipeline;
  readonly notifications: Notifications;
  readonly monitoring: Monitoring;
  readonly api: AppApi;

  constructor(scope: Construct, id: string, props: MomoSyncStackProps) {
    super(scope, id, props);
    const { config } = props;
    if (config.encryption === 'customer-managed') {
      this.encryptionKey = new Key(this, 'DataKey', {
        description: 'momo-sync tables and queues',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    this.data = new Data(this, 'Data', { encryptionKey: this.encryptionKey });
    this.notifyQueue = createQueuePair(this, NOTIFY_QUEUE, {
      consumerTimeout: NOTIFIER_TIMEOUT,
      encryptionKey: this.encryptionKey,
    });
    this.pipeline = new SyncPipeline(this, 'SyncPipeline', {
      config,
      data: this.data,
      notifyQueue: this.notifyQueue.queue,
      encryptionKey: this.encryptionKey,
      logRetention: config.logRetentionDays as RetentionDays,
    });
    this.notifications = new Notifications(this, 'Notifications', {
      config,
      data: this.data,
      notifyQueue: this.notifyQueue,
      timeout: NOTIFIER_TIMEOUT,
      encryptionKey: this.encryptionKey,
      logRetention: config.logRetentionDays as RetentionDays,
    });
    this.api = new AppApi(this, 'Api', {
      config,
      data: this.data,
      manualQueue: this.pipeline.manualQueue.queue,
      encryptionKey: this.encryptionKey,
      logRetention: config.logRetentionDays as RetentionDays,
    });
    const { pipeline, notifications } = this;
    const pairs = [
      pipeline.syncQueue,
      pipeline.manualQueue,
      pipeline.fanOutQueue,
      this.notifyQueue,
    ];
    this.monitoring = new Monitoring(this, 'Monitoring', {
      config: config.monitoring,
      syncQueue: pipeline.syncQueue.queue,
      queues: pairs.slice(1).map((pair) => ({ name: pair.def.name, queue: pair.queue })),
      deadLetterQueues: [
        ...pairs.map((pair) => ({ name: pair.def.name, queue: pair.dlq })),
        {
          name: 'schedule',
          queue: pipeline.scheduleDlq,
          recovery:
            'It holds a scheduler event the fan-out did not take: read its scheduledTime, run ' +
            'npm run ops -- fan-out --time <scheduledTime>, then purge the message',
        },
      ],
      consumer: pipeline.syncAccount,
      otherFunctions: [
        { name: 'fan-out', fn: pipeline.fanOut },
        { name: 'notifier', fn: notifications.notifier },
        { name: 'api', fn: this.api.handler },
      ],
      logGroups: {
        consumer: pipeline.syncAccount.logGroup,
        fanOut: pipeline.fanOut.logGroup,
        notifier: notifications.logGroup,
      },
      encryptionKey: this.encryptionKey,
    });
    addOperatorOutputs(this, {
      tables: this.data.tables,
      queues: pairs,
      fanOut: pipeline.fanOut,
    });
  }
}
