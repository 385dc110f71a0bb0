import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { FANOUT_QUEUE, MANUAL_QUEUE, NOTIFY_QUEUE, SYNC_QUEUE } from '../../lib/resources';
import { buildStack, type Resource, type Statement, statementsOfFunction } from './stack';

const built = buildStack();
const { stack, template, config } = built;
const { pipeline, data } = stack;
const resources = template.toJSON().Resources as Record<string, Resource>;

const idOf = (construct: IConstruct) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as never);
const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });
const propsOf = (construct: IConstruct) => {
  const resource = resources[idOf(construct)];
  if (!resource) throw new Error(`no resource for ${construct.node.path}`);
  return resource.Properties;
};

const pairs = [
  ['sync', pipeline.syncQueue],
  ['manual', pipeline.manualQueue],
  ['fan-out', pipeline.fanOutQueue],
  ['notify', stack.notifyQueue],
] as const;

/** The timeout, in seconds, of the function an event source mapping feeds the queue to. */
const consumerTimeoutOf = (queue: IConstruct): number => {
  const mapping = Object.values(resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::EventSourceMapping' &&
      JSON.stringify(resource.Properties.EventSourceArn) === JSON.stringify(arnOf(queue)),
  );
  const functionId = (mapping?.Properties.FunctionName as { Ref: string } | undefined)?.Ref ?? '';
  const timeout = resources[functionId]?.Properties.Timeout;
  if (typeof timeout !== 'number') throw new Error(`no consumer of ${queue.node.path}`);
  return timeout;
};

describe('the daily schedule', () => {
  const schedule = propsOf(pipeline.schedule);
  const target = schedule.Target as Record<string, unknown>;

  it('runs at the configured expression in the configured time zone', () => {
    expect(schedule.ScheduleExpression).toBe('cron(0 2 * * ? *)');
    expect(schedule.ScheduleExpressionTimezone).toBe('Africa/Accra');
  });

  it('has no flexible window, so the run id is the scheduled time itself', () => {
    expect(schedule.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
  });

  it('retries a failed delivery, then sends it to its own DLQ', () => {
    expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 });
    expect(target.DeadLetterConfig).toEqual({ Arn: arnOf(pipeline.scheduleDlq) });
  });

  it('invokes the fan-out with the scheduled time', () => {
    expect(target.Arn).toEqual(arnOf(pipeline.fanOut));
    expect(JSON.parse(target.Input as string)).toEqual({
      source: 'momo-sync.schedule',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
  });

  it('keeps its DLQ encrypted, over TLS only and for 14 days', () => {
    const dlq = propsOf(pipeline.scheduleDlq);
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    expect(dlq.MessageRetentionPeriod).toBe(1_209_600);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: idOf(pipeline.scheduleDlq) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    });
  });

  it('sends fan-out planner failures to the schedule DLQ after Lambda retries them', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: idOf(pipeline.fanOut) },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: arnOf(pipeline.scheduleDlq) } },
    });
  });
});

describe.each(pairs)('the %s queue', (_name, pair) => {
  const queue = propsOf(pair.queue);
  const dlq = propsOf(pair.dlq);

  it('is encrypted at rest, and so is its DLQ', () => {
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(dlq.SqsManagedSseEnabled).toBe(true);
  });

  it.each([
    ['queue', pair.queue],
    ['DLQ', pair.dlq],
  ])('refuses requests that are not over TLS (%s)', (_kind, target) => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: idOf(target) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    });
  });

  it('moves a message to its DLQ after 5 receives', () => {
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(pair.dlq),
      maxReceiveCount: 5,
    });
  });

  it('keeps dead letters for 14 days', () => {
    expect(dlq.MessageRetentionPeriod).toBe(1_209_600);
  });

  it('hides a message for at least six times the timeout of the function that consumes it', () => {
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumerTimeoutOf(pair.queue));
  });
});

describe('the event sources', () => {
  const mappings = Object.values(resources).filter(
    (resource) => resource.Type === 'AWS::Lambda::EventSourceMapping',
  );
  const mappingOf = (queue: IConstruct) => {
    const mapping = mappings.find(
      (m) => JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify(arnOf(queue)),
    );
    if (!mapping) throw new Error(`no event source for ${queue.node.path}`);
    return mapping.Properties;
  };

  it.each([
    ['sync', pipeline.syncQueue.queue],
    ['manual', pipeline.manualQueue.queue],
  ])('feeds the %s queue to the consumer with partial failures and a concurrency cap', (_n, q) => {
    expect(mappingOf(q)).toMatchObject({
      FunctionName: { Ref: idOf(pipeline.syncAccount) },
      BatchSize: config.consumer.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: config.consumer.maximumConcurrency },
    });
  });

  it('feeds fan-out tasks one at a time, capped at the number of segments', () => {
    expect(mappingOf(pipeline.fanOutQueue.queue)).toMatchObject({
      FunctionName: { Ref: idOf(pipeline.fanOut) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: config.fanOut.scanSegments },
    });
  });

  it('takes the maximum concurrency from the configuration', () => {
    const tuned = buildStack({ momoSync: { consumer: { maximumConcurrency: 42 } } });

    tuned.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [idOf(pipeline.syncQueue.queue), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: 42 },
    });
  });
});

describe.each([
  ['fan-out', pipeline.fanOut, 'fan-out'],
  ['sync-account', pipeline.syncAccount, 'sync-account'],
])('the %s function', (_name, fn, service) => {
  const props = propsOf(fn);
  const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;

  it('runs on Node.js 22 on arm64', () => {
    expect(props.Runtime).toBe('nodejs22.x');
    expect(props.Architectures).toEqual(['arm64']);
  });

  it('writes to its own log group with the configured retention', () => {
    const logGroupId = (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
    expect(resources[logGroupId]?.Type).toBe('AWS::Logs::LogGroup');
    expect(resources[logGroupId]?.Properties.RetentionInDays).toBe(config.logRetentionDays);
  });

  it('sets source maps and the Powertools service', () => {
    expect(env).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: service,
      POWERTOOLS_METRICS_NAMESPACE: 'MomoSync',
    });
  });
});

describe("the functions' settings", () => {
  const variables = (fn: IConstruct) =>
    Object.keys((propsOf(fn).Environment as { Variables: Record<string, unknown> }).Variables);

  it('hands the fan-out its table, queue and segment settings', () => {
    expect(variables(pipeline.fanOut)).toEqual(
      expect.arrayContaining([
        'ACCOUNTS_TABLE',
        'IDEMPOTENCY_TABLE',
        'CONTROL_TABLE',
        'SYNC_QUEUE_URL',
        'FANOUT_QUEUE_URL',
        'FANOUT_SCAN_SEGMENTS',
        'SYNC_DUE_TOLERANCE_MINUTES',
      ]),
    );
  });

  it('hands the consumer its tables, queues, provider and sync settings', () => {
    expect(variables(pipeline.syncAccount)).toEqual(
      expect.arrayContaining([
        'ACCOUNTS_TABLE',
        'TRANSACTIONS_TABLE',
        'SYNC_RUNS_TABLE',
        'CONTROL_TABLE',
        'SYNC_QUEUE_URL',
        'SYNC_QUEUE_DLQ_URL',
        'MANUAL_QUEUE_URL',
        'MANUAL_QUEUE_DLQ_URL',
        'NOTIFY_QUEUE_URL',
        'PROVIDER_BASE_URL',
        'PROVIDER_TARGET_ENVIRONMENT',
        'PROVIDER_SECRET_ID',
        'SYNC_LEASE_SECONDS',
        'SYNC_OVERLAP_MINUTES',
        'SYNC_RUN_TTL_DAYS',
      ]),
    );
  });
});

describe("the consumer's share of the provider rate limit", () => {
  const consumerEnv = (momoSync: Record<string, unknown>) => {
    const tuned = buildStack({ momoSync });
    const id = tuned.stack.getLogicalId(
      tuned.stack.pipeline.syncAccount.node.defaultChild as never,
    );
    const fn = (tuned.template.toJSON().Resources as Record<string, Resource>)[id];
    if (!fn) throw new Error('no consumer function in the template');
    return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  };

  it('spaces each consumer to the rate limit divided by the maximum concurrency', () => {
    const env = consumerEnv({
      provider: { rateLimitPerSecond: 25 },
      consumer: { maximumConcurrency: 10 },
    });

    expect(env.PROVIDER_MIN_INTERVAL_MS).toBe('400');
  });

  it('rounds the spacing up, so the consumers together stay under the limit', () => {
    const env = consumerEnv({
      provider: { rateLimitPerSecond: 30 },
      consumer: { maximumConcurrency: 7 },
    });

    // 7 consumers at one call per 234 ms make 29.9 calls a second; 233 ms would make 30.04.
    expect(env.PROVIDER_MIN_INTERVAL_MS).toBe('234');
  });

  it('leaves the consumers unpaced when no rate limit is configured', () => {
    expect(consumerEnv({})).not.toHaveProperty('PROVIDER_MIN_INTERVAL_MS');
  });
});

describe('least privilege', () => {
  const tables = {
    accounts: arnOf(data.accounts),
    transactions: arnOf(data.transactions),
    syncRuns: arnOf(data.syncRuns),
    control: arnOf(data.control),
    idempotency: arnOf(data.idempotency),
  };
  const queueArns = {
    sync: arnOf(pipeline.syncQueue.queue),
    syncDlq: arnOf(pipeline.syncQueue.dlq),
    manual: arnOf(pipeline.manualQueue.queue),
    manualDlq: arnOf(pipeline.manualQueue.dlq),
    fanOut: arnOf(pipeline.fanOutQueue.queue),
    notify: arnOf(stack.notifyQueue.queue),
    scheduleDlq: arnOf(pipeline.scheduleDlq),
  };
  const nameOf = (arn: unknown) =>
    Object.entries({ ...tables, ...queueArns }).find(
      ([, candidate]) => JSON.stringify(candidate) === JSON.stringify(arn),
    )?.[0] ?? JSON.stringify(arn);

  /** The grants on one service as `action on resource` strings, sorted. */
  const grants = (statements: Statement[], service: string) =>
    statements
      .flatMap((s) =>
        s.Action.filter((action) => action.startsWith(`${service}:`)).flatMap((action) =>
          s.Resource.map((resource) => `${action} on ${nameOf(resource)}`),
        ),
      )
      .sort();

  const consume = [
    'ChangeMessageVisibility',
    'DeleteMessage',
    'GetQueueAttributes',
    'GetQueueUrl',
    'ReceiveMessage',
  ];
  const cases = [
    {
      name: 'fan-out',
      fn: pipeline.fanOut,
      dynamodb: [
        'dynamodb:Scan on accounts',
        'dynamodb:GetItem on control',
        ...['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem'].map(
          (a) => `dynamodb:${a} on idempotency`,
        ),
      ],
      sqs: [
        ...consume.map((a) => `sqs:${a} on fanOut`),
        'sqs:SendMessage on fanOut',
        'sqs:SendMessage on scheduleDlq',
        'sqs:SendMessage on sync',
      ],
    },
    {
      name: 'sync-account',
      fn: pipeline.syncAccount,
      dynamodb: [
        'dynamodb:GetItem on accounts',
        'dynamodb:UpdateItem on accounts',
        ...['BatchGetItem', 'PutItem', 'Query', 'UpdateItem'].map(
          (a) => `dynamodb:${a} on transactions`,
        ),
        'dynamodb:PutItem on syncRuns',
        'dynamodb:GetItem on control',
        'dynamodb:PutItem on control',
      ],
      sqs: [
        ...consume.map((a) => `sqs:${a} on sync`),
        ...consume.map((a) => `sqs:${a} on manual`),
        ...['sync', 'syncDlq', 'manual', 'manualDlq', 'notify'].map(
          (q) => `sqs:SendMessage on ${q}`,
        ),
      ],
    },
  ];

  describe.each(cases)('the $name function', ({ fn, dynamodb, sqs }) => {
    const statements = statementsOfFunction(template, idOf(fn));

    it('has no wildcard action on DynamoDB or SQS', () => {
      const wildcards = statements
        .flatMap((s) => s.Action)
        .filter((action) => /^(dynamodb|sqs):/.test(action) && action.includes('*'));
      expect(wildcards).toEqual([]);
    });

    it('allows exactly the DynamoDB calls it makes, on the tables it uses', () => {
      expect(grants(statements, 'dynamodb')).toEqual([...dynamodb].sort());
    });

    it('allows exactly the SQS calls it makes, on the queues it uses', () => {
      expect(grants(statements, 'sqs')).toEqual([...sqs].sort());
    });

    it('allows nothing outside DynamoDB, SQS and Secrets Manager', () => {
      const others = statements
        .flatMap((s) => s.Action)
        .filter((action) => !/^(dynamodb|sqs|secretsmanager):/.test(action));
      expect(others).toEqual([]);
    });
  });

  it('lets the consumer read only the provider secret', () => {
    const statements = statementsOfFunction(template, idOf(pipeline.syncAccount));
    const secret = statements.filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:')));

    expect(secret).toHaveLength(1);
    expect(secret[0]?.Action).toEqual(['secretsmanager:GetSecretValue']);
    expect(JSON.stringify(secret[0]?.Resource)).toContain(
      `:secret:${config.provider.secretName}-??????`,
    );
  });

  it('lets no function read the secret but the consumer', () => {
    const statements = statementsOfFunction(template, idOf(pipeline.fanOut));

    expect(
      statements.flatMap((s) => s.Action).filter((a) => a.startsWith('secretsmanager:')),
    ).toEqual([]);
  });
});

describe('with a customer-managed key', () => {
  const prod = buildStack({ stage: 'prod' });
  const [keyId] = Object.keys(prod.template.findResources('AWS::KMS::Key'));

  it.each([SYNC_QUEUE, MANUAL_QUEUE, FANOUT_QUEUE, NOTIFY_QUEUE])(
    'encrypts the $name queue and its DLQ with the key',
    () => {
      prod.template.allResourcesProperties('AWS::SQS::Queue', {
        KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
    },
  );

  it('lets each function use the key for exactly encrypt, decrypt and data keys', () => {
    const kmsActions = (fn: IConstruct) =>
      statementsOfFunction(prod.template, prod.stack.getLogicalId(fn.node.defaultChild as never))
        .filter((s) => JSON.stringify(s.Resource).includes(keyId ?? 'none'))
        .flatMap((s) => s.Action);

    for (const fn of [prod.stack.pipeline.fanOut, prod.stack.pipeline.syncAccount]) {
      expect(kmsActions(fn).every((action) => action.startsWith('kms:'))).toBe(true);
      expect(kmsActions(fn)).toEqual(
        expect.arrayContaining(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey']),
      );
    }
  });
});
