import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  type IWidget,
  MathExpression,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ILogGroup, QueryDefinition, QueryString } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MomoSyncConfig } from '../config';
import {
  DIMENSIONS,
  ERROR_CLASSES,
  FAILED_OUTCOMES,
  LOG_MESSAGES,
  METRIC_SOURCES,
  METRICS,
  METRICS_NAMESPACE,
  type MetricName,
  SERVICES,
  type ServiceName,
  SYNC_OUTCOMES,
} from '../metrics';

/** A queue graphed on the dashboard, by the short name operators use. */
export interface MonitoredQueue {
  readonly name: string;
  readonly queue: IQueue;
  /** For a DLQ with no queue to redrive to: what its alarm tells the operator to do instead. */
  readonly recovery?: string;
}

/** Props of {@link Monitoring}. */
export interface MonitoringProps {
  readonly config: MomoSyncConfig['monitoring'];
  /** The sync queue: its age alarm and backlog graphs. */
  readonly syncQueue: IQueue;
  /** Queues whose depth the dashboard shows beside the sync queue's (manual, fan-out, notify). */
  readonly queues: readonly MonitoredQueue[];
  /** Every dead-letter queue, the scheduler's included: each gets an alarm and a graph. */
  readonly deadLetterQueues: readonly MonitoredQueue[];
  /** The sync consumer: its errors and throttles. */
  readonly consumer: IFunction;
  /** The fan-out and the notifier, graphed for errors beside the consumer. */
  readonly otherFunctions?: readonly { readonly name: string; readonly fn: IFunction }[];
  /** Log groups the saved queries run against. */
  readonly logGroups: {
    readonly consumer: ILogGroup;
    readonly fanOut: ILogGroup;
    readonly notifier?: ILogGroup;
  };
  /** Customer-managed key: encrypts the alarm topic (CloudWatch is allowed to use it). */
  readonly encryptionKey?: IKey;
}

const FIVE_MINUTES = Duration.minutes(5);
const ONE_HOUR = Duration.hours(1);
/** Periods of five minutes a failure rate must stay high before it alarms. */
export const FAILURE_RATE_PERIODS = 3;

/** A momo-sync metric, asked for with exactly the dimensions its emitter files it under. */
export function momoMetric(
  name: MetricName,
  dimensions: Record<string, string> = {},
  options: { statistic?: string; period?: Duration; label?: string; service?: ServiceName } = {},
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: {
      [DIMENSIONS.service]: options.service ?? METRIC_SOURCES[name],
      ...dimensions,
    },
    statistic: options.statistic ?? Stats.SUM,
    period: options.period ?? FIVE_MINUTES,
    label: options.label,
  });
}

/** SyncOutcome of one outcome, all triggers together. */
const outcomeMetric = (outcome: string, period: Duration) =>
  momoMetric(METRICS.syncOutcome, { [DIMENSIONS.outcome]: outcome }, { period, label: outcome });

/**
 * The fleet's failure rate in percent, as a metric-math expression over the SyncOutcome series.
 * A period with fewer finished syncs than `minSyncs` counts as 0, so three failures out of five
 * at night do not page anyone.
 */
export function failureRateExpression(period: Duration, minSyncs: number): MathExpression {
  const usingMetrics: Record<string, IMetric> = { synced: outcomeMetric('synced', period) };
  for (const outcome of FAILED_OUTCOMES) usingMetrics[outcome] = outcomeMetric(outcome, period);
  // FILL: an outcome with no datapoint in a period (no permanent errors today) is a zero, not
  // a hole that would blank the whole sum.
  const failed = FAILED_OUTCOMES.map((outcome) => `FILL(${outcome}, 0)`).join(' + ');
  const total = `(FILL(synced, 0) + ${failed})`;
  return new MathExpression({
    expression: `IF(${total} >= ${minSyncs}, 100 * (${failed}) / ${total}, 0)`,
    usingMetrics,
    period,
    label: 'failed syncs (%)',
  });
}

/** The fleet's success rate in percent: synced over synced plus failed. */
export function successRateExpression(period: Duration): MathExpression {
  const usingMetrics: Record<string, IMetric> = { synced: outcomeMetric('synced', period) };
  for (const outcome of FAILED_OUTCOMES) usingMetrics[outcome] = outcomeMetric(outcome, period);
  const failed = FAILED_OUTCOMES.map((outcome) => `FILL(${outcome}, 0)`).join(' + ');
  return new MathExpression({
    expression: `100 * FILL(synced, 0) / (FILL(synced, 0) + ${failed})`,
    usingMetrics,
    period,
    label: 'fleet success rate (%)',
  });
}

/**
 * 1 while the provider circuit is open, as the consumers and the fan-out each report it: with the
 * queues empty no consumer runs, and the fan-out's deferred segments keep the signal alive.
 */
export function circuitOpenExpression(period: Duration = FIVE_MINUTES): MathExpression {
  const reported = (service: ServiceName) =>
    momoMetric(METRICS.circuitOpen, {}, { statistic: Stats.MAXIMUM, period, service });
  return new MathExpression({
    expression: 'MAX([FILL(consumer, 0), FILL(fanout, 0)])',
    usingMetrics: { consumer: reported(SERVICES.syncAccount), fanout: reported(SERVICES.fanOut) },
    period,
    label: 'circuit open',
  });
}

/** Names of the saved Logs Insights queries, as the console lists them. */
export const QUERY_NAMES = {
  failedSyncs: 'momo-sync/failed syncs by error class',
  accountHistory: 'momo-sync/history of one account',
  relinkNeeded: 'momo-sync/accounts needing re-link',
  slowestSyncs: 'momo-sync/slowest syncs',
  fanOutRuns: 'momo-sync/fan-out runs',
  deadLettered: 'momo-sync/dead-lettered messages',
} as const;

/** The placeholder the account-history query filters on; replace it in the console. */
export const ACCOUNT_ID_PLACEHOLDER = 'REPLACE_WITH_ACCOUNT_ID';

const quoted = (values: readonly string[]) => values.map((value) => `'${value}'`).join(', ');

/** The saved queries; each reads ids, outcomes and counts only, never personal data. */
export function savedQueries(): Record<keyof typeof QUERY_NAMES, QueryString> {
  const syncFinished = `message = '${LOG_MESSAGES.syncFinished}'`;
  return {
    failedSyncs: new QueryString({
      fields: ['@timestamp', 'outcome', 'errorCode'],
      parseStatements: ['errorCode /^(?<errorClass>[a-z_]+):/'],
      filterStatements: [
        syncFinished,
        `outcome in [${quoted([...FAILED_OUTCOMES, 'auth_required'])}]`,
      ],
      statsStatements: ['count(*) as syncs by errorClass, errorCode'],
      sort: 'syncs desc',
    }),
    accountHistory: new QueryString({
      fields: [
        '@timestamp',
        'message',
        'runId',
        'trigger',
        'outcome',
        'errorCode',
        'durationMs',
        'added',
        'updated',
        'removed',
        'providerCalls',
        'reason',
      ],
      filterStatements: [`accountId = '${ACCOUNT_ID_PLACEHOLDER}'`],
      sort: '@timestamp desc',
      limit: 200,
    }),
    relinkNeeded: new QueryString({
      filterStatements: [syncFinished, `outcome = 'auth_required'`],
      statsStatements: [
        'latest(errorCode) as lastError, max(@timestamp) as lastSeen, count(*) as syncs by accountId',
      ],
      sort: 'lastSeen desc',
      limit: 1000,
    }),
    slowestSyncs: new QueryString({
      fields: [
        '@timestamp',
        'accountId',
        'runId',
        'trigger',
        'outcome',
        'durationMs',
        'pages',
        'providerCalls',
      ],
      filterStatements: [syncFinished, `outcome != 'skipped'`],
      sort: 'durationMs desc',
      limit: 50,
    }),
    fanOutRuns: new QueryString({
      filterStatements: [`message = '${LOG_MESSAGES.fanOutSegmentFinished}'`],
      statsStatements: [
        'sum(enqueued) as enqueued, sum(failed) as notQueued, sum(pages) as pages, ' +
          'count_distinct(segment) as segments, min(@timestamp) as firstTask, ' +
          'max(@timestamp) as lastTask by runId',
      ],
      sort: 'firstTask desc',
      limit: 30,
    }),
    deadLettered: new QueryString({
      filterStatements: [`message = '${LOG_MESSAGES.deadLettered}'`],
      statsStatements: ['count(*) as messages by queue, reason'],
      sort: 'messages desc',
    }),
  };
}

/** A short runbook beside a graph: what the graph says and what to do when it looks wrong. */
const note = (markdown: string, width = 6) =>
  new TextWidget({ markdown: markdown.trim(), width, height: 6 });

/**
 * Operations for momo-sync: one dashboard with a runbook note beside each graph, alarms on every
 * DLQ, on the sync backlog's age, on the fleet's failure rate, on the provider circuit and on
 * consumer throttling (all to one SNS topic), and saved Logs Insights queries for the questions
 * operators ask. Thresholds come from the `monitoring` configuration.
 */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  /** Every alarm, by a short stable name (`dlq-sync`, `failure-rate`, ...). */
  readonly alarms: ReadonlyMap<string, Alarm>;
  readonly queries: readonly QueryDefinition[];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config } = props;
    const stackName = Stack.of(this).stackName;

    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `${stackName} alarms`,
      enforceSSL: true,
      masterKey: props.encryptionKey,
    });
    // CloudWatch publishes to an encrypted topic only when the key lets it.
    props.encryptionKey?.grant(
      new ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    if (config.alarmEmail) this.topic.addSubscription(new EmailSubscription(config.alarmEmail));

    const alarms = new Map<string, Alarm>();
    const action = new SnsAction(this.topic);
    const alarm = (
      name: string,
      alarmProps: Omit<ConstructorParameters<typeof Alarm>[2], 'alarmName'>,
    ) => {
      const created = new Alarm(this, `Alarm-${name}`, {
        alarmName: `${stackName}-${name}`,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      alarms.set(name, created);
      return created;
    };

    for (const dlq of props.deadLetterQueues) {
      alarm(`dlq-${dlq.name}`, {
        alarmDescription:
          `A message reached the ${dlq.name} DLQ. ` +
          (dlq.recovery ??
            `Read its reason with the saved query "${QUERY_NAMES.deadLettered}", fix the ` +
              `cause, then: npm run ops -- redrive --queue ${dlq.name} --dry-run`) +
          ' (see docs/operations.md).',
        metric: dlq.queue.metricApproximateNumberOfMessagesVisible({
          statistic: Stats.MAXIMUM,
          period: FIVE_MINUTES,
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
    }

    alarm('sync-queue-age', {
      alarmDescription:
        `The oldest sync message waited over ${config.maxSyncQueueAgeMinutes} minutes: the ` +
        'backlog drains slower than it fills. Check consumer throttles, the circuit and the ' +
        'provider error graphs.',
      metric: props.syncQueue.metricApproximateAgeOfOldestMessage({
        statistic: Stats.MAXIMUM,
        period: FIVE_MINUTES,
      }),
      threshold: config.maxSyncQueueAgeMinutes * 60,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    alarm('failure-rate', {
      alarmDescription:
        `Over ${config.failureRatePercent}% of finished syncs failed for ` +
        `${FAILURE_RATE_PERIODS * 5} minutes. Run the saved query "${QUERY_NAMES.failedSyncs}".`,
      metric: failureRateExpression(FIVE_MINUTES, config.failureRateMinSyncs),
      threshold: config.failureRatePercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: FAILURE_RATE_PERIODS,
      datapointsToAlarm: FAILURE_RATE_PERIODS,
    });

    alarm('circuit-open', {
      alarmDescription:
        'The provider refused our platform credentials and the fleet stopped calling it. Check ' +
        'the provider secret and subscription key; the circuit closes by itself after a good probe.',
      metric: circuitOpenExpression(),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });

    alarm('consumer-throttles', {
      alarmDescription:
        'The sync consumer was throttled: the account concurrency is exhausted or reserved ' +
        'elsewhere. Raise the account limit or lower consumer.maximumConcurrency.',
      metric: props.consumer.metricThrottles({ statistic: Stats.SUM, period: FIVE_MINUTES }),
      threshold: config.consumerThrottles,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
    });
    this.alarms = alarms;

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${stackName}-operations`,
      defaultInterval: Duration.days(1),
    });
    for (const row of this.rows(props, [...alarms.values()])) this.dashboard.addWidgets(...row);

    const queries = savedQueries();
    const groups = props.logGroups;
    const logGroupsOf: Record<keyof typeof QUERY_NAMES, ILogGroup[]> = {
      failedSyncs: [groups.consumer],
      accountHistory: [
        groups.consumer,
        groups.fanOut,
        ...(groups.notifier ? [groups.notifier] : []),
      ],
      relinkNeeded: [groups.consumer],
      slowestSyncs: [groups.consumer],
      fanOutRuns: [groups.fanOut],
      deadLettered: [groups.consumer, ...(groups.notifier ? [groups.notifier] : [])],
    };
    this.queries = (Object.keys(QUERY_NAMES) as (keyof typeof QUERY_NAMES)[]).map(
      (key) =>
        new QueryDefinition(this, `Query-${key}`, {
          queryDefinitionName: `${stackName}/${QUERY_NAMES[key]}`,
          queryString: queries[key],
          logGroups: logGroupsOf[key],
        }),
    );
  }

  /** The dashboard, row by row: a graph (or two) and the note that says what to do. */
  private rows(props: MonitoringProps, alarms: Alarm[]): IWidget[][] {
    const graph = (
      title: string,
      left: IMetric[],
      extra: Partial<ConstructorParameters<typeof GraphWidget>[0]> = {},
    ) => new GraphWidget({ title, left, width: 9, height: 6, ...extra });
    const allOutcomes = SYNC_OUTCOMES.map((outcome) => outcomeMetric(outcome, ONE_HOUR));
    const functions = [
      { name: 'sync-account', fn: props.consumer },
      ...(props.otherFunctions ?? []),
    ];

    return [
      [
        new TextWidget({
          markdown: [
            '# momo-sync operations',
            'Each graph has a note: what it shows and what to do when it looks wrong. Alarms go',
            'to the SNS topic of this stack. Commands: `npm run ops -- --help`; runbook:',
            '`docs/operations.md`.',
          ].join('\n'),
          width: 24,
          height: 2,
        }),
      ],
      [new AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 3 })],
      [
        graph('Fleet success rate (%)', [successRateExpression(ONE_HOUR)], {
          leftYAxis: { min: 0, max: 100 },
        }),
        graph('Syncs per hour by outcome', allOutcomes, { stacked: true }),
        note(`
**Success rate** is synced / (synced + failed); partial, skipped and auth_required are left out.
A drop: open *Provider errors by class*, then run the saved query "failed syncs by error class".
A band of \`rate_limited\`: set \`provider.rateLimitPerSecond\` to the subscription's limit,
or lower it if it is set too high.`),
      ],
      [
        graph(
          'Sync duration (ms)',
          ['p50', 'p90', 'p99'].map((stat) =>
            momoMetric(METRICS.syncDuration, {}, { statistic: stat, label: stat }),
          ),
        ),
        graph('Transactions synced per hour', [
          momoMetric(METRICS.transactionsAdded, {}, { period: ONE_HOUR, label: 'added' }),
          momoMetric(METRICS.transactionsUpdated, {}, { period: ONE_HOUR, label: 'updated' }),
          momoMetric(METRICS.transactionsRemoved, {}, { period: ONE_HOUR, label: 'removed' }),
        ]),
        note(`
**Duration** rising with flat transactions means a slow provider: check provider errors and
retries. Slowest accounts: saved query "slowest syncs". **Transactions** at zero for hours while
syncs succeed: the provider returns empty statements; compare with a known busy wallet.`),
      ],
      [
        graph('Sync backlog (messages)', [
          props.syncQueue.metricApproximateNumberOfMessagesVisible({ label: 'sync visible' }),
          props.syncQueue.metricApproximateNumberOfMessagesNotVisible({
            label: 'sync in flight',
          }),
          ...props.queues.map((queue) =>
            queue.queue.metricApproximateNumberOfMessagesVisible({ label: queue.name }),
          ),
        ]),
        graph(
          'Age of oldest sync message (s)',
          [
            props.syncQueue.metricApproximateAgeOfOldestMessage({
              statistic: Stats.MAXIMUM,
              label: 'sync',
            }),
          ],
          {
            leftAnnotations: [{ value: props.config.maxSyncQueueAgeMinutes * 60, label: 'alarm' }],
          },
        ),
        note(`
The daily run fills the **sync** queue at once; it should drain at the provider's rate limit.
Age climbing past the line: the consumer is throttled, the circuit is open, or the provider
slows every sync. The **manual** queue should stay near zero at all times.`),
      ],
      [
        graph(
          'Dead-letter queues (messages)',
          props.deadLetterQueues.map((dlq) =>
            dlq.queue.metricApproximateNumberOfMessagesVisible({
              statistic: Stats.MAXIMUM,
              label: dlq.name,
            }),
          ),
        ),
        graph(
          'Function errors and throttles',
          functions.flatMap(({ name, fn }) => [
            fn.metricErrors({ label: `${name} errors` }),
            fn.metricThrottles({ label: `${name} throttles` }),
          ]),
        ),
        note(`
Any **DLQ** above zero alarms. Read why with the saved query "dead-lettered messages", fix the
cause, then \`npm run ops -- redrive --queue NAME --dry-run\` and without \`--dry-run\`.
**Errors** are invocation failures (not sync failures); **throttles** mean the account's
concurrency ran out.`),
      ],
      [
        graph(
          'Provider errors by class',
          ERROR_CLASSES.map((errorClass) =>
            momoMetric(
              METRICS.providerErrors,
              { [DIMENSIONS.errorClass]: errorClass },
              {
                label: errorClass,
              },
            ),
          ),
          {
            right: [momoMetric(METRICS.providerCalls, {}, { label: 'provider calls' })],
            stacked: false,
          },
        ),
        graph('Accounts needing re-link', [
          momoMetric(
            METRICS.reauthEpisodesOpened,
            {},
            {
              period: ONE_HOUR,
              label: 're-auth episodes opened',
            },
          ),
          outcomeMetric('auth_required', ONE_HOUR),
        ]),
        note(`
**transient** and **rate_limited** are retried; a burst is the provider's weather. **platform_auth**
opens the circuit (alarm). **account_auth** is a wallet link that expired: its owner gets one push.
A jump in **re-link** across many accounts at once points at the provider, not the users:
run the saved query "accounts needing re-link".`),
      ],
      [
        graph('Re-link pushes sent', [
          momoMetric(METRICS.pushesSent, {}, { period: ONE_HOUR, label: 'pushes sent' }),
        ]),
        graph('Provider circuit (1 = open)', [circuitOpenExpression()], {
          leftYAxis: { min: 0, max: 1 },
        }),
        note(`
**Pushes** should follow re-auth episodes opened; pushes far below episodes: check the notify
DLQ and the OneSignal key. **Circuit** at 1: the fleet holds its syncs until a probe succeeds;
fix the provider credentials, no redrive is needed.`),
      ],
      [
        graph('Fan-out', [
          momoMetric(METRICS.accountsEnqueued, {}, { period: ONE_HOUR, label: 'accounts queued' }),
          momoMetric(METRICS.enqueueFailures, {}, { period: ONE_HOUR, label: 'not queued' }),
        ]),
        graph('App API per hour', [
          momoMetric(METRICS.manualSyncQueued, {}, { period: ONE_HOUR, label: 'syncs queued' }),
          momoMetric(METRICS.manualSyncRateLimited, {}, { period: ONE_HOUR, label: 'sync 429' }),
          momoMetric(METRICS.relinkRecorded, {}, { period: ONE_HOUR, label: 're-links' }),
          momoMetric(METRICS.apiServerErrors, {}, { period: ONE_HOUR, label: '500s' }),
        ]),
        note(
          `
**Accounts queued** per daily run should track the number of due accounts. A missing run:
check the schedule DLQ alarm and the saved query "fan-out runs"; start one by hand with
\`npm run ops -- fan-out\`. **App API**: the handler answers its own failures with a 500, so
they show here, not as function errors; read them in the api log group (\`request failed\`).`,
          6,
        ),
      ],
    ];
  }
}
