/**
 * The operations construct in the real stack: dashboard widgets (read back from the rendered
 * DashboardBody), every alarm's metric and threshold, the alarm topic and the saved queries.
 */
import { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { CfnQueue, IQueue } from 'aws-cdk-lib/aws-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { syncLogLine } from '../../lambdas/shared/metrics';
import { ACCOUNT_ID_PLACEHOLDER, QUERY_NAMES } from '../../lib/constructs/monitoring';
import { FAILED_OUTCOMES, METRICS, METRICS_NAMESPACE, SYNC_OUTCOMES } from '../../lib/metrics';
import { QUEUES } from '../../lib/resources';
import { buildStack } from './stack';

type Json = Record<string, unknown>;

/** The properties of the only resource of a type. */
function onlyProperties(template: Template, type: string): Json {
  const resources = Object.values(template.findResources(type));
  if (resources.length !== 1) throw new Error(`expected one ${type}, found ${resources.length}`);
  return resources[0]?.Properties as Json;
}

interface Widget {
  type: 'metric' | 'text' | 'alarm';
  width: number;
  x: number;
  y: number;
  properties: {
    title?: string;
    markdown?: string;
    metrics?: unknown[][];
    annotations?: { horizontal?: { value: number }[] };
  };
}

/** The dashboard body as JSON, with every token written as `Ref:Id` or `Id.Attribute`. */
function dashboardOf(template: Template): { widgets: Widget[] } {
  const body = onlyProperties(template, 'AWS::CloudWatch::Dashboard').DashboardBody as {
    'Fn::Join': [string, unknown[]];
  };
  const text = body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = part as Json;
      if ('Ref' in token) return `Ref:${token.Ref}`;
      const [id, attribute] = token['Fn::GetAtt'] as [string, string];
      return `${id}.${attribute}`;
    })
    .join('');
  return JSON.parse(text);
}

const widgetTitled = (widgets: Widget[], title: string): Widget => {
  const widget = widgets.find((candidate) => candidate.properties.title === title);
  if (!widget) throw new Error(`no widget titled ${title}`);
  return widget;
};

/** The `[namespace, name, dimension, value, ...]` rows of a graph, options left out. */
const metricRows = (widget: Widget): string[][] =>
  (widget.properties.metrics ?? []).map((row) =>
    row.filter((cell): cell is string => typeof cell === 'string'),
  );

type Alarm = { Properties: Json };

function alarmsOf(template: Template): Record<string, Alarm> {
  const byName: Record<string, Alarm> = {};
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const name = String((alarm.Properties as Json).AlarmName).replace(/^MomoSyncTest-/, '');
    byName[name] = alarm as Alarm;
  }
  return byName;
}

const logicalIdOf = (stack: Stack, queue: IQueue) =>
  stack.getLogicalId(queue.node.defaultChild as CfnQueue);

describe('Monitoring dashboard', () => {
  let widgets: Widget[];

  beforeAll(() => {
    widgets = dashboardOf(buildStack().template).widgets;
  });

  it.each([
    'Fleet success rate (%)',
    'Syncs per hour by outcome',
    'Sync duration (ms)',
    'Transactions synced per hour',
    'Sync backlog (messages)',
    'Age of oldest sync message (s)',
    'Dead-letter queues (messages)',
    'Function errors and throttles',
    'Provider errors by class',
    'Accounts needing re-link',
    'Re-link pushes sent',
    'Provider circuit (1 = open)',
    'Fan-out',
    'App API per hour',
  ])('has the graph "%s" with a runbook note in its row', (title) => {
    const graph = widgetTitled(widgets, title);

    const row = widgets.filter((widget) => widget.y === graph.y);

    const notes = row.filter((widget) => widget.type === 'text');
    expect(notes).toHaveLength(1);
    expect(notes[0]?.properties.markdown?.length).toBeGreaterThan(80);
  });

  it('tells the operator to pace the consumers to the rate limit, as the runbook does', () => {
    const graph = widgetTitled(widgets, 'Syncs per hour by outcome');

    const [note] = widgets.filter((widget) => widget.y === graph.y && widget.type === 'text');

    expect(note?.properties.markdown).toContain(
      "`rate_limited`: set `provider.rateLimitPerSecond` to the subscription's limit",
    );
  });

  it('computes the success rate from synced over synced plus every failed outcome', () => {
    const [[expression]] = widgetTitled(widgets, 'Fleet success rate (%)').properties.metrics as [
      [{ expression: string }],
    ];

    expect(expression.expression).toMatch(/^100 \* FILL\(synced, 0\) \/ \(/);
    for (const outcome of FAILED_OUTCOMES) expect(expression.expression).toContain(outcome);
  });

  it('stacks every sync outcome by the hour', () => {
    const rows = metricRows(widgetTitled(widgets, 'Syncs per hour by outcome'));

    expect(rows.map((row) => row.slice(0, 2))).toEqual(
      SYNC_OUTCOMES.map(() => [METRICS_NAMESPACE, METRICS.syncOutcome]),
    );
    expect(rows.map((row) => row[row.indexOf('outcome') + 1])).toEqual([...SYNC_OUTCOMES]);
  });

  it('graphs the p50, p90 and p99 of the sync duration', () => {
    const widget = widgetTitled(widgets, 'Sync duration (ms)');

    const stats = (widget.properties.metrics ?? []).map((row) => (row.at(-1) as Json).stat);
    expect(stats).toEqual(['p50', 'p90', 'p99']);
    expect(metricRows(widget).every((row) => row[1] === METRICS.syncDuration)).toBe(true);
  });

  it('graphs the depth of each of the five dead-letter queues, the scheduler’s included', () => {
    const rows = metricRows(widgetTitled(widgets, 'Dead-letter queues (messages)'));

    expect(rows).toHaveLength(5);
    expect(rows.every((row) => row[1] === 'ApproximateNumberOfMessagesVisible')).toBe(true);
  });

  it('marks the queue-age alarm threshold on the age graph', () => {
    const widget = widgetTitled(widgets, 'Age of oldest sync message (s)');

    expect(widget.properties.annotations?.horizontal?.[0]?.value).toBe(360 * 60);
  });

  it('graphs provider errors for each failure class', () => {
    const rows = metricRows(widgetTitled(widgets, 'Provider errors by class'));

    const classes = rows
      .filter((row) => row[1] === METRICS.providerErrors)
      .map((row) => row[row.indexOf('errorClass') + 1]);
    expect(classes).toEqual([
      'account_auth',
      'platform_auth',
      'rate_limited',
      'transient',
      'permanent',
    ]);
  });

  it('graphs the API’s own counts under the api service, its 500s among them', () => {
    const rows = metricRows(widgetTitled(widgets, 'App API per hour'));

    expect(rows.map((row) => row[1])).toEqual([
      METRICS.manualSyncQueued,
      METRICS.manualSyncRateLimited,
      METRICS.relinkRecorded,
      METRICS.apiServerErrors,
    ]);
    expect(rows.every((row) => row[row.indexOf('service') + 1] === 'api')).toBe(true);
  });

  it('lists every alarm in an alarm status widget', () => {
    const status = widgets.filter((widget) => widget.type === 'alarm');

    expect(
      status.map((widget) => (widget.properties as { alarms: string[] }).alarms.length),
    ).toEqual([9]);
  });

  it('keeps every row within the 24 columns of a dashboard', () => {
    const rows = new Map<number, number>();
    for (const widget of widgets) rows.set(widget.y, (rows.get(widget.y) ?? 0) + widget.width);

    expect(Math.max(...rows.values())).toBeLessThanOrEqual(24);
  });
});

describe('Monitoring alarms', () => {
  const built = buildStack();
  const alarms = alarmsOf(built.template);
  const { stack } = built;
  const topicId = stack.getLogicalId(stack.monitoring.topic.node.defaultChild as never);

  it.each([
    ['sync', stack.pipeline.syncQueue.dlq],
    ['manual', stack.pipeline.manualQueue.dlq],
    ['fanout', stack.pipeline.fanOutQueue.dlq],
    ['notify', stack.notifyQueue.dlq],
    ['schedule', stack.pipeline.scheduleDlq],
  ])('alarms on the first message in the %s DLQ', (name, dlq) => {
    const alarm = alarms[`dlq-${name}`]?.Properties;

    expect(alarm).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalIdOf(stack, dlq), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it.each(QUEUES.map((queue) => queue.name))(
    'tells the operator to redrive the %s DLQ with a queue name the CLI takes',
    (name) => {
      expect(alarms[`dlq-${name}`]?.Properties.AlarmDescription).toContain(
        `npm run ops -- redrive --queue ${name} --dry-run`,
      );
    },
  );

  it('tells the operator to rerun the fan-out for the schedule DLQ, which has nothing to redrive', () => {
    const description = alarms['dlq-schedule']?.Properties.AlarmDescription as string;

    expect(description).toContain('npm run ops -- fan-out --time <scheduledTime>');
    expect(description).not.toContain('redrive');
  });

  it('alarms when the oldest sync message is older than the configured bound', () => {
    expect(alarms['sync-queue-age']?.Properties).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: {
            'Fn::GetAtt': [logicalIdOf(stack, stack.pipeline.syncQueue.queue), 'QueueName'],
          },
        },
      ],
      Threshold: 360 * 60,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('alarms on the fleet failure rate over three five-minute periods, ignoring quiet ones', () => {
    const alarm = alarms['failure-rate']?.Properties as Json & { Metrics: Json[] };

    expect(alarm).toMatchObject({
      Threshold: 10,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
    });
    const expression = alarm.Metrics.find((metric) => 'Expression' in metric)?.Expression;
    expect(expression).toMatch(/^IF\(\(.*\) >= 20, 100 \* \(/);
    const outcomes = alarm.Metrics.filter((metric) => 'MetricStat' in metric).map(
      (metric) => metric.Id,
    );
    expect(outcomes).toEqual(['synced', ...FAILED_OUTCOMES]);
  });

  it('alarms when a consumer or the fan-out reports the provider circuit open', () => {
    const alarm = alarms['circuit-open']?.Properties as Json & { Metrics: Json[] };

    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const reported = alarm.Metrics.filter((metric) => 'MetricStat' in metric).map(
      (metric) => metric.MetricStat as { Metric: Json; Stat: string },
    );
    expect(reported.map((stat) => stat.Metric)).toEqual(
      ['sync-account', 'fan-out'].map((service) => ({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRICS.circuitOpen,
        Dimensions: [{ Name: 'service', Value: service }],
      })),
    );
    expect(reported.every((stat) => stat.Stat === 'Maximum')).toBe(true);
  });

  it('alarms when the sync consumer is throttled', () => {
    const consumerId = stack.getLogicalId(stack.pipeline.syncAccount.node.defaultChild as never);

    expect(alarms['consumer-throttles']?.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: consumerId } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('sends every alarm and its recovery to the alarm topic', () => {
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topicId }]);
    }
  });

  it.each([
    [{ maxSyncQueueAgeMinutes: 90 }, 'sync-queue-age', 90 * 60],
    [{ failureRatePercent: 25 }, 'failure-rate', 25],
    [{ consumerThrottles: 50 }, 'consumer-throttles', 50],
  ])('takes the threshold from the configuration (%o)', (monitoring, name, threshold) => {
    const { template } = buildStack({ momoSync: { monitoring } });

    expect(alarmsOf(template)[name]?.Properties.Threshold).toBe(threshold);
  });
});

describe('Monitoring alarm topic', () => {
  it('subscribes the configured email address', () => {
    const { template } = buildStack({
      momoSync: { monitoring: { alarmEmail: 'oncall@example.com' } },
    });

    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
  });

  it('has no subscription when no address is configured', () => {
    buildStack().template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('refuses publishers that do not use TLS', () => {
    const { template } = buildStack();

    const policy = onlyProperties(template, 'AWS::SNS::TopicPolicy');
    const statements = (policy.PolicyDocument as { Statement: Json[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  it('is encrypted with the stack key, which CloudWatch may use, when keys are customer-managed', () => {
    const { template, stack } = buildStack({ momoSync: { encryption: 'customer-managed' } });
    const keyId = Stack.of(stack).getLogicalId(stack.encryptionKey?.node.defaultChild as never);

    template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    const key = onlyProperties(template, 'AWS::KMS::Key');
    const statements = (key.KeyPolicy as { Statement: Json[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
  });
});

describe('Monitoring saved queries', () => {
  const { template, stack } = buildStack();
  const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition')).map(
    (query) => query.Properties as { Name: string; QueryString: string; LogGroupNames: unknown[] },
  );
  const queryNamed = (name: string) => {
    const query = queries.find((candidate) => candidate.Name === `MomoSyncTest/${name}`);
    if (!query) throw new Error(`no query ${name}`);
    return query;
  };
  const logGroupRef = (fn: 'syncAccount' | 'fanOut') => ({
    Ref: stack.getLogicalId(stack.pipeline[fn].logGroup.node.defaultChild as never),
  });

  it('saves one query per operator question', () => {
    expect(queries.map((query) => query.Name).sort()).toEqual(
      Object.values(QUERY_NAMES)
        .map((name) => `MomoSyncTest/${name}`)
        .sort(),
    );
  });

  it.each([
    [QUERY_NAMES.failedSyncs, /stats count\(\*\) as syncs by errorClass, errorCode/],
    [QUERY_NAMES.relinkNeeded, /outcome = 'auth_required'/],
    [QUERY_NAMES.slowestSyncs, /sort durationMs desc/],
  ])('reads the consumer’s sync finished lines for "%s"', (name, shape) => {
    const query = queryNamed(name);

    expect(query.QueryString).toContain("filter message = 'sync finished'");
    expect(query.QueryString).toMatch(shape);
    expect(query.LogGroupNames).toEqual([logGroupRef('syncAccount')]);
  });

  it('filters the account history on a placeholder id the operator replaces', () => {
    const query = queryNamed(QUERY_NAMES.accountHistory);

    expect(query.QueryString).toContain(`filter accountId = '${ACCOUNT_ID_PLACEHOLDER}'`);
    expect(query.LogGroupNames).toContainEqual(logGroupRef('syncAccount'));
  });

  it('sums the fan-out segments of each run from the fan-out logs', () => {
    const query = queryNamed(QUERY_NAMES.fanOutRuns);

    expect(query.QueryString).toMatch(/sum\(enqueued\) as enqueued.* by runId/);
    expect(query.LogGroupNames).toEqual([logGroupRef('fanOut')]);
  });

  it('asks only for fields the consumer’s log line carries', () => {
    const logged = Object.keys(
      syncLogLine({
        message: { accountId: 'a', runId: 'r', trigger: 'schedule' },
        result: {
          outcome: 'synced',
          errorCode: 'x',
          skipReason: 'busy',
          counts: { added: 0, updated: 0, unchanged: 0, removed: 0, pages: 0, providerCalls: 0 },
          needsAnotherPass: false,
        },
        durationMs: 1,
      }),
    );
    const asked = queryNamed(QUERY_NAMES.slowestSyncs).QueryString.match(/fields (.*)/)?.[1];

    expect(asked).toBeDefined();
    for (const field of asked?.split(', ').filter((name) => !name.startsWith('@')) ?? []) {
      expect(logged).toContain(field);
    }
  });

  it('asks for no personal data in any query', () => {
    for (const query of queries) {
      expect(query.QueryString).not.toMatch(/phone|msisdn|walletId|ownerId|counterparty|token/i);
    }
  });
});
