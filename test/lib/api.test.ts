import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { API_ROUTES, routeKey } from '../../core/api/routes';
import { API_ENV } from '../../lib/settings';
import { buildStack, type Resource, type Statement, statementsOfFunction } from './stack';

const ISSUER = 'https://auth.example.com/realms/momo';
const { stack, template, config } = buildStack({
  momoSync: {
    api: {
      jwtIssuer: ISSUER,
      jwtAudience: ['momo-android', 'momo-ios'],
      throttlingRateLimit: 25,
      throttlingBurstLimit: 60,
      manualSyncIntervalSeconds: 120,
      timeoutSeconds: 8,
    },
    sync: { minIntervalMinutes: 30, maxIntervalMinutes: 2880, defaultIntervalMinutes: 1440 },
  },
});
const { api, data, pipeline } = stack;
const resources = template.toJSON().Resources as Record<string, Resource>;

const idOf = (construct: IConstruct) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as never);
const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });
const propsOf = (construct: IConstruct) => {
  const resource = resources[idOf(construct)];
  if (!resource) throw new Error(`no resource for ${construct.node.path}`);
  return resource.Properties;
};
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

describe('the HTTP API', () => {
  it('is an HTTP API', () => {
    expect(propsOf(api.httpApi).ProtocolType).toBe('HTTP');
  });

  it('has one JWT authorizer with the configured issuer and audiences', () => {
    const authorizers = ofType('AWS::ApiGatewayV2::Authorizer');

    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: ISSUER, Audience: ['momo-android', 'momo-ios'] },
    });
  });

  it('routes exactly the API’s routes, every one behind the authorizer', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map((r) => r.Properties);
    const [authorizer] = Object.entries(resources).find(
      ([, r]) => r.Type === 'AWS::ApiGatewayV2::Authorizer',
    ) ?? [''];

    expect(routes.map((r) => r.RouteKey).sort()).toEqual(API_ROUTES.map(routeKey).sort());
    for (const route of routes) {
      expect(route).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizer } });
    }
  });

  it('hands every route to the api function with payload format 2.0', () => {
    const integrations = ofType('AWS::ApiGatewayV2::Integration');

    expect(integrations).toHaveLength(1);
    expect(integrations[0]?.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: arnOf(api.handler),
    });
  });

  it('lets only this API invoke the function', () => {
    const permissions = ofType('AWS::Lambda::Permission').filter(
      (p) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(arnOf(api.handler)),
    );

    expect(permissions).toHaveLength(API_ROUTES.length);
    for (const permission of permissions) {
      expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(permission.Properties.SourceArn)).toContain(idOf(api.httpApi));
    }
  });

  it('outputs its URL', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;

    expect(Object.values(outputs)).toContainEqual(
      expect.objectContaining({ Value: { 'Fn::GetAtt': [idOf(api.httpApi), 'ApiEndpoint'] } }),
    );
  });
});

describe('the $default stage', () => {
  const stage = propsOf(api.stage);

  it('is the one stage, deployed on every change', () => {
    expect(ofType('AWS::ApiGatewayV2::Stage')).toHaveLength(1);
    expect(stage).toMatchObject({ StageName: '$default', AutoDeploy: true });
  });

  it('throttles at the configured rate and burst', () => {
    expect(stage.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 25,
      ThrottlingBurstLimit: 60,
    });
  });

  it('writes JSON access logs to their own log group, with no claim or header in them', () => {
    const settings = stage.AccessLogSettings as { DestinationArn: unknown; Format: string };
    const fields = JSON.parse(settings.Format) as Record<string, string>;

    expect(settings.DestinationArn).toEqual(arnOf(api.accessLogs));
    expect(fields).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
    });
    expect(settings.Format).not.toMatch(/claims|header|authorization/i);
  });

  it('keeps access logs as long as function logs', () => {
    expect(propsOf(api.accessLogs).RetentionInDays).toBe(config.logRetentionDays);
  });
});

describe('the api function', () => {
  const fn = propsOf(api.handler);
  const variables = (fn.Environment as { Variables: Record<string, unknown> }).Variables;

  it('runs the api handler on Node.js 22, arm64, as the api service, within API Gateway’s wait', () => {
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 8 });
    expect(variables.POWERTOOLS_SERVICE_NAME).toBe('api');
  });

  it('is handed its tables, the manual queue and the operators’ limits', () => {
    expect(variables).toMatchObject({
      ACCOUNTS_TABLE: { Ref: idOf(data.accounts) },
      TRANSACTIONS_TABLE: { Ref: idOf(data.transactions) },
      SYNC_RUNS_TABLE: { Ref: idOf(data.syncRuns) },
      MANUAL_QUEUE_URL: { Ref: idOf(pipeline.manualQueue.queue) },
      [API_ENV.manualSyncIntervalSeconds]: '120',
      [API_ENV.minSyncIntervalMinutes]: '30',
      [API_ENV.maxSyncIntervalMinutes]: '2880',
    });
  });
});

describe('least privilege of the api function', () => {
  const statements = statementsOfFunction(template, idOf(api.handler));
  const named = new Map<string, string>([
    [JSON.stringify(arnOf(data.accounts)), 'accounts'],
    [JSON.stringify(arnOf(data.transactions)), 'transactions'],
    [JSON.stringify(arnOf(data.syncRuns)), 'syncRuns'],
    [
      JSON.stringify({ 'Fn::Join': ['', [arnOf(data.accounts), '/index/byOwner']] }),
      'accounts/index/byOwner',
    ],
    [JSON.stringify(arnOf(pipeline.manualQueue.queue)), 'manual'],
  ]);
  const grants = (service: string) =>
    statements
      .flatMap((s: Statement) =>
        s.Action.filter((a) => a.startsWith(`${service}:`)).flatMap((a) =>
          s.Resource.map((r) => `${a} on ${named.get(JSON.stringify(r)) ?? JSON.stringify(r)}`),
        ),
      )
      .sort();

  it('reads and conditionally updates accounts, lists them by owner, and queries runs and transactions', () => {
    expect(grants('dynamodb')).toEqual([
      'dynamodb:BatchGetItem on accounts',
      'dynamodb:GetItem on accounts',
      'dynamodb:Query on accounts/index/byOwner',
      'dynamodb:Query on syncRuns',
      'dynamodb:Query on transactions',
      'dynamodb:UpdateItem on accounts',
    ]);
  });

  it('sends to the manual queue and nowhere else', () => {
    expect(grants('sqs')).toEqual(['sqs:SendMessage on manual']);
  });

  it('may call no other service (its log permissions are the role’s own inline policy)', () => {
    const services = new Set(statements.flatMap((s) => s.Action.map((a) => a.split(':')[0])));

    expect([...services].sort()).toEqual(['dynamodb', 'sqs']);
  });

  it('may use the customer-managed key when there is one', () => {
    const { stack: cmk, template: cmkTemplate } = buildStack({
      momoSync: { encryption: 'customer-managed' },
    });
    const fnId = cmk.getLogicalId(cmk.api.handler.node.defaultChild as never);
    const kms = statementsOfFunction(cmkTemplate, fnId).filter((s) =>
      s.Action.some((a) => a.startsWith('kms:')),
    );

    expect(kms.flatMap((s) => s.Action).sort()).toEqual([
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey',
    ]);
  });
});
