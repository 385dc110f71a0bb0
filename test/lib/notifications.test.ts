import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { NOTIFY_QUEUE } from '../../lib/resources';
import { buildStack, type Resource, type Statement, statementsOfFunction } from './stack';

const APP_ID = '5eb5a37e-b458-11e3-ac11-000c2940e62c';
const { stack, template, config } = buildStack({
  momoSync: { notifications: { oneSignalAppId: APP_ID, appScheme: 'momofinance' } },
});
const { notifications, notifyQueue, data } = stack;
const resources = template.toJSON().Resources as Record<string, Resource>;

const idOf = (construct: IConstruct) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as never);
const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });
const propsOf = (construct: IConstruct) => {
  const resource = resources[idOf(construct)];
  if (!resource) throw new Error(`no resource for ${construct.node.path}`);
  return resource.Properties;
};

describe('the notify queue', () => {
  const queue = propsOf(notifyQueue.queue);
  const dlq = propsOf(notifyQueue.dlq);

  it('is encrypted at rest, and so is its DLQ', () => {
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(dlq.SqsManagedSseEnabled).toBe(true);
  });

  it('moves a request to its DLQ after five receives', () => {
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: arnOf(notifyQueue.dlq),
      maxReceiveCount: 5,
    });
  });

  it('keeps dead letters for 14 days', () => {
    expect(dlq.MessageRetentionPeriod).toBe(14 * 86_400);
  });

  it('hides a request for six times the notifier timeout while it is handled', () => {
    const timeout = propsOf(notifications.notifier).Timeout as number;

    expect(queue.VisibilityTimeout).toBe(6 * timeout);
  });

  it.each([
    ['queue', notifyQueue.queue],
    ['DLQ', notifyQueue.dlq],
  ])('refuses requests to the %s that are not over TLS', (_name, target) => {
    const policies = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::SQS::QueuePolicy' &&
        JSON.stringify(r.Properties.Queues) === JSON.stringify([{ Ref: idOf(target) }]),
    );
    const statements = policies.flatMap(
      (p) => (p.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
    );

    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });
});

describe('the notifier function', () => {
  const fn = propsOf(notifications.notifier);
  const variables = (fn.Environment as { Variables: Record<string, unknown> }).Variables;

  it('runs the notifier handler on Node.js 22, arm64, as the notifier service', () => {
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(variables.POWERTOOLS_SERVICE_NAME).toBe('notifier');
  });

  it('is handed the app id, the app scheme and the secret name from configuration', () => {
    expect(variables).toMatchObject({
      ONESIGNAL_APP_ID: APP_ID,
      APP_SCHEME: 'momofinance',
      ONESIGNAL_SECRET_ID: config.notifications.secretName,
    });
  });

  it('is handed its table and queues, and never the API key itself', () => {
    expect(variables).toMatchObject({
      ACCOUNTS_TABLE: { Ref: idOf(data.accounts) },
      NOTIFY_QUEUE_URL: { Ref: idOf(notifyQueue.queue) },
      NOTIFY_QUEUE_DLQ_URL: { Ref: idOf(notifyQueue.dlq) },
    });
    expect(Object.keys(variables).filter((name) => /KEY/.test(name))).toEqual([]);
  });

  it('takes the notify queue in batches, reporting failed items, with bounded concurrency', () => {
    const mappings = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(r.Properties.FunctionName) ===
          JSON.stringify({ Ref: idOf(notifications.notifier) }),
    );

    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({
      EventSourceArn: arnOf(notifyQueue.queue),
      BatchSize: config.notifications.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: config.notifications.maximumConcurrency },
    });
  });
});

describe('least privilege of the notifier', () => {
  const statements = statementsOfFunction(template, idOf(notifications.notifier));
  const named = new Map<string, string>([
    [JSON.stringify(arnOf(data.accounts)), 'accounts'],
    [JSON.stringify(arnOf(notifyQueue.queue)), 'notify'],
    [JSON.stringify(arnOf(notifyQueue.dlq)), 'notifyDlq'],
  ]);
  const grants = (service: string) =>
    statements
      .flatMap((s: Statement) =>
        s.Action.filter((a) => a.startsWith(`${service}:`)).flatMap((a) =>
          s.Resource.map((r) => `${a} on ${named.get(JSON.stringify(r)) ?? JSON.stringify(r)}`),
        ),
      )
      .sort();

  it('reads and conditionally updates accounts, and no other table', () => {
    expect(grants('dynamodb')).toEqual([
      'dynamodb:GetItem on accounts',
      'dynamodb:UpdateItem on accounts',
    ]);
  });

  it('consumes the notify queue and sends only to its DLQ', () => {
    expect(grants('sqs')).toEqual(
      [
        ...[
          'ChangeMessageVisibility',
          'DeleteMessage',
          'GetQueueAttributes',
          'GetQueueUrl',
          'ReceiveMessage',
        ].map((a) => `sqs:${a} on notify`),
        'sqs:SendMessage on notifyDlq',
      ].sort(),
    );
  });

  it('reads only the OneSignal secret', () => {
    const secret = statements.filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:')));

    expect(secret).toHaveLength(1);
    expect(secret[0]?.Action).toEqual(['secretsmanager:GetSecretValue']);
    expect(JSON.stringify(secret[0]?.Resource)).toContain(
      `:secret:${config.notifications.secretName}-??????`,
    );
  });

  it('allows nothing outside DynamoDB, SQS and Secrets Manager', () => {
    const others = statements
      .flatMap((s) => s.Action)
      .filter((action) => !/^(dynamodb|sqs|secretsmanager):/.test(action));

    expect(others).toEqual([]);
  });
});

describe('the consumer and the notify queue', () => {
  it('may send re-link requests to the notify queue and knows its URL', () => {
    const consumer = stack.pipeline.syncAccount;
    const statements = statementsOfFunction(template, idOf(consumer));
    const env = (propsOf(consumer).Environment as { Variables: Record<string, unknown> }).Variables;

    expect(env[NOTIFY_QUEUE.env]).toEqual({ Ref: idOf(notifyQueue.queue) });
    expect(
      statements.some(
        (s) =>
          s.Action.includes('sqs:SendMessage') &&
          JSON.stringify(s.Resource).includes(JSON.stringify(arnOf(notifyQueue.queue))),
      ),
    ).toBe(true);
  });
});

describe('with a customer-managed key', () => {
  const prod = buildStack({ stage: 'prod' });
  const [keyId] = Object.keys(prod.template.findResources('AWS::KMS::Key'));

  it('lets the notifier use the key for exactly encrypt, decrypt and data keys', () => {
    const notifier = prod.stack.notifications.notifier;
    const actions = statementsOfFunction(
      prod.template,
      prod.stack.getLogicalId(notifier.node.defaultChild as never),
    )
      .filter((s) => JSON.stringify(s.Resource).includes(keyId ?? 'none'))
      .flatMap((s) => s.Action);

    expect([...new Set(actions)].sort()).toEqual([
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey',
    ]);
  });
});
