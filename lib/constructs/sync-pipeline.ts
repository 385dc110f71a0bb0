import { ArnFormat, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  ContextAttribute,
  Schedule,
  ScheduleExpression,
  ScheduleTargetInput,
  TimeWindow,
} from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MomoSyncConfig } from '../config';
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  dlqEnv,
  FANOUT_QUEUE,
  IDEMPOTENCY_TABLE,
  MANUAL_QUEUE,
  NOTIFY_QUEUE,
  SYNC_QUEUE,
  SYNC_RUNS_TABLE,
  TRANSACTIONS_TABLE,
} from '../resources';
import {
  FANOUT_ENV,
  PROVIDER_ENV,
  providerMinIntervalMs,
  SYNC_ENV,
  syncSettingsEnv,
} from '../settings';
import type { Data } from './data';
import { SyncFunction } from './function';
import { createQueuePair, type QueuePair } from './queue';

/** Props of {@link SyncPipeline}. */
export interface SyncPipelineProps {
  readonly config: MomoSyncConfig;
  readonly data: Data;
  /** Where the consumer asks for re-link pushes (the notifier consumes it). */
  readonly notifyQueue: IQueue;
  /** Customer-managed key of the tables and queues; absent means AWS-managed keys. */
  readonly encryptionKey?: IKey;
  readonly logRetention: RetentionDays;
}

/** Input the schedule hands the fan-out; `scheduledTime` is the run id of the whole run. */
export const SCHEDULE_INPUT = {
  source: 'momo-sync.schedule',
  scheduledTime: ContextAttribute.scheduledTime,
};

// Lambda's bounds for an SQS event source's maximum concurrency.
const clampConcurrency = (n: number) => Math.min(1000, Math.max(2, n));

/**
 * The scheduled sync: EventBridge Scheduler -> fan-out Lambda (plans scan segments, then pages
 * through them from the fan-out queue) -> sync queue -> sync-account Lambda; the manual queue
 * feeds the same consumer so a user's sync never waits behind the daily backlog.
 */
export class SyncPipeline extends Construct {
  readonly syncQueue: QueuePair;
  readonly manualQueue: QueuePair;
  readonly fanOutQueue: QueuePair;
  /** Scheduler deliveries and fan-out planner failures that gave up. */
  readonly scheduleDlq: Queue;
  readonly schedule: Schedule;
  readonly fanOut: NodejsFunction;
  readonly syncAccount: NodejsFunction;

  constructor(scope: Construct, id: string, props: SyncPipelineProps) {
    super(scope, id);
    const { config, data, encryptionKey } = props;
    const consumerTimeout = Duration.seconds(config.consumer.timeoutSeconds);
    const fanOutTimeout = Duration.seconds(config.fanOut.timeoutSeconds);

    this.syncQueue = createQueuePair(this, SYNC_QUEUE, { consumerTimeout, encryptionKey });
    this.manualQueue = createQueuePair(this, MANUAL_QUEUE, { consumerTimeout, encryptionKey });
    this.fanOutQueue = createQueuePair(this, FANOUT_QUEUE, {
      consumerTimeout: fanOutTimeout,
      encryptionKey,
    });
    this.scheduleDlq = new Queue(this, 'ScheduleDlq', {
      ...(encryptionKey
        ? { encryption: QueueEncryption.KMS, encryptionMasterKey: encryptionKey }
        : { encryption: QueueEncryption.SQS_MANAGED }),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.fanOut = new SyncFunction(this, 'FanOut', {
      entry: 'fan-out',
      serviceName: 'fan-out',
      timeout: fanOutTimeout,
      logRetention: props.logRetention,
      environment: {
        [ACCOUNTS_TABLE.env]: data.accounts.tableName,
        [IDEMPOTENCY_TABLE.env]: data.idempotency.tableName,
        [CONTROL_TABLE.env]: data.control.tableName,
        [SYNC_QUEUE.env]: this.syncQueue.queue.queueUrl,
        [FANOUT_QUEUE.env]: this.fanOutQueue.queue.queueUrl,
        [FANOUT_ENV.scanSegments]: String(config.fanOut.scanSegments),
        [SYNC_ENV.dueToleranceMinutes]: String(config.sync.dueToleranceMinutes),
      },
    }).function;
    // Lambda retries a failed asynchronous (scheduler) invocation twice; after that the event
    // lands beside the scheduler's own failures, where the run-failure alarm watches.
    // SqsDestination would also grant GetQueueAttributes and GetQueueUrl, which Lambda does not
    // need to deliver a failure record: bind the queue's ARN and grant the one send ourselves.
    const scheduleDlqArn = this.scheduleDlq.queueArn;
    this.fanOut.configureAsyncInvoke({
      retryAttempts: 2,
      onFailure: { bind: () => ({ destination: scheduleDlqArn }) },
    });
    this.fanOut.addEventSource(
      new SqsEventSource(this.fanOutQueue.queue, {
        // One segment task per invocation: each may use the whole timeout.
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: clampConcurrency(config.fanOut.scanSegments),
      }),
    );
    allow(this.fanOut, ['dynamodb:Scan'], [data.accounts.tableArn]);
    // The provider circuit's item: while it is open a segment task queues no sync.
    allow(this.fanOut, ['dynamodb:GetItem'], [data.control.tableArn]);
    allow(
      this.fanOut,
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      [data.idempotency.tableArn],
    );
    allow(
      this.fanOut,
      ['sqs:SendMessage'],
      [this.syncQueue.queue.queueArn, this.fanOutQueue.queue.queueArn, scheduleDlqArn],
    );

    this.schedule = new Schedule(this, 'DailySync', {
      description: 'Queues every due MoMo wallet for a sync',
      schedule: ScheduleExpression.expression(
        config.schedule.expression,
        TimeZone.of(config.schedule.timeZone),
      ),
      // Off: the run id is the scheduled time, and a flexible window would only blur it.
      timeWindow: TimeWindow.off(),
      target: new LambdaInvoke(this.fanOut, {
        input: ScheduleTargetInput.fromObject(SCHEDULE_INPUT),
        retryAttempts: config.schedule.retryAttempts,
        maxEventAge: Duration.minutes(config.schedule.maxEventAgeMinutes),
        deadLetterQueue: this.scheduleDlq,
      }),
    });

    // Secrets Manager appends six random characters to a secret's ARN; `??????` matches exactly
    // those, so the grant covers this secret and no other whose name merely starts the same.
    const secretArn = Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${config.provider.secretName}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.syncAccount = new SyncFunction(this, 'SyncAccount', {
      entry: 'sync-account',
      serviceName: 'sync-account',
      timeout: consumerTimeout,
      logRetention: props.logRetention,
      environment: {
        [ACCOUNTS_TABLE.env]: data.accounts.tableName,
        [TRANSACTIONS_TABLE.env]: data.transactions.tableName,
        [SYNC_RUNS_TABLE.env]: data.syncRuns.tableName,
        [CONTROL_TABLE.env]: data.control.tableName,
        [SYNC_QUEUE.env]: this.syncQueue.queue.queueUrl,
        [dlqEnv(SYNC_QUEUE)]: this.syncQueue.dlq.queueUrl,
        [MANUAL_QUEUE.env]: this.manualQueue.queue.queueUrl,
        [dlqEnv(MANUAL_QUEUE)]: this.manualQueue.dlq.queueUrl,
        [NOTIFY_QUEUE.env]: props.notifyQueue.queueUrl,
        [PROVIDER_ENV.baseUrl]: config.provider.baseUrl,
        [PROVIDER_ENV.targetEnvironment]: config.provider.targetEnvironment,
        [PROVIDER_ENV.secretId]: config.provider.secretName,
        ...(config.provider.rateLimitPerSecond === undefined
          ? {}
          : {
              [PROVIDER_ENV.minIntervalMs]: String(
                providerMinIntervalMs(
                  config.provider.rateLimitPerSecond,
                  config.consumer.maximumConcurrency,
                ),
              ),
            }),
        ...syncSettingsEnv({ ...config.sync, syncRunTtlDays: config.syncRunTtlDays }),
      },
    }).function;
    for (const pair of [this.syncQueue, this.manualQueue]) {
      this.syncAccount.addEventSource(
        new SqsEventSource(pair.queue, {
          batchSize: config.consumer.batchSize,
          reportBatchItemFailures: true,
          maxConcurrency: config.consumer.maximumConcurrency,
        }),
      );
    }
    // Exactly the calls the engine's adapters make: lease, checkpoint and release are
    // conditional updates (a refused lease reads the item once for its reason); transactions
    // are read in batches, listed by key range and written conditionally; a sync run is a put.
    allow(this.syncAccount, ['dynamodb:GetItem', 'dynamodb:UpdateItem'], [data.accounts.tableArn]);
    allow(
      this.syncAccount,
      ['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [data.transactions.tableArn],
    );
    allow(this.syncAccount, ['dynamodb:PutItem'], [data.syncRuns.tableArn]);
    // The provider circuit: a consistent read, and a put conditioned on the version read.
    allow(this.syncAccount, ['dynamodb:GetItem', 'dynamodb:PutItem'], [data.control.tableArn]);
    // Continuations go back on the queue they came from; dead letters to that queue's DLQ.
    allow(
      this.syncAccount,
      ['sqs:SendMessage'],
      [
        this.syncQueue.queue.queueArn,
        this.syncQueue.dlq.queueArn,
        this.manualQueue.queue.queueArn,
        this.manualQueue.dlq.queueArn,
        props.notifyQueue.queueArn,
      ],
    );
    allow(this.syncAccount, ['secretsmanager:GetSecretValue'], [secretArn]);

    if (encryptionKey) {
      for (const fn of [this.fanOut, this.syncAccount]) {
        encryptionKey.grant(fn, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');
      }
    }
  }
}

function allow(fn: IFunction, actions: string[], resources: string[]): void {
  fn.addToRolePolicy(new PolicyStatement({ actions, resources }));
}
