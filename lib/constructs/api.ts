import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { API_ROUTES } from '../../core/api/routes';
import type { MomoSyncConfig } from '../config';
import { ACCOUNTS_TABLE, MANUAL_QUEUE, SYNC_RUNS_TABLE, TRANSACTIONS_TABLE } from '../resources';
import { API_ENV } from '../settings';
import type { Data } from './data';
import { SyncFunction } from './function';

/** Props of {@link AppApi}. */
export interface AppApiProps {
  /** The `api` section sets the authorizer and limits; `sync` the bounds of an owner's interval. */
  readonly config: Pick<MomoSyncConfig, 'api' | 'sync'>;
  readonly data: Data;
  /** Where manual and re-link syncs go. */
  readonly manualQueue: IQueue;
  /** The customer-managed key of the tables and queues, when configured. */
  readonly encryptionKey?: IKey;
  readonly logRetention: RetentionDays;
}

/**
 * The app's HTTP API: API Gateway HTTP API with a JWT authorizer on every route (issuer and
 * audience from configuration, so any OIDC provider works), the routes of core/api/routes.ts
 * on one api function, a throttled `$default` stage with JSON access logs, and a function role
 * that can do exactly what the API's adapters do.
 */
export class AppApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly handler: IFunction;
  readonly logGroup: LogGroup;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: AppApiProps) {
    super(scope, id);
    const { config, data } = props;
    const fn = new SyncFunction(this, 'Handler', {
      entry: 'api',
      serviceName: 'api',
      timeout: Duration.seconds(config.api.timeoutSeconds),
      logRetention: props.logRetention,
      environment: {
        [ACCOUNTS_TABLE.env]: data.accounts.tableName,
        [TRANSACTIONS_TABLE.env]: data.transactions.tableName,
        [SYNC_RUNS_TABLE.env]: data.syncRuns.tableName,
        [MANUAL_QUEUE.env]: props.manualQueue.queueUrl,
        [API_ENV.manualSyncIntervalSeconds]: String(config.api.manualSyncIntervalSeconds),
        // The same bounds the engine clamps to, so an accepted interval is the one it uses.
        [API_ENV.minSyncIntervalMinutes]: String(config.sync.minIntervalMinutes),
        [API_ENV.maxSyncIntervalMinutes]: String(config.sync.maxIntervalMinutes),
      },
    });
    this.handler = fn.function;
    this.logGroup = fn.logGroup;

    // Exactly the calls of the API's adapters: an account is read, listed through the owner
    // index (keys only, then a batch read) and updated conditionally; runs and transactions
    // are queried by key; a sync is one message on the manual queue.
    this.allow(
      ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem'],
      [data.accounts.tableArn],
    );
    const byOwner = ACCOUNTS_TABLE.globalIndexes[0]?.indexName ?? 'byOwner';
    this.allow(['dynamodb:Query'], [`${data.accounts.tableArn}/index/${byOwner}`]);
    this.allow(['dynamodb:Query'], [data.transactions.tableArn, data.syncRuns.tableArn]);
    this.allow(['sqs:SendMessage'], [props.manualQueue.queueArn]);
    props.encryptionKey?.grant(this.handler, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey');

    const authorizer = new HttpJwtAuthorizer('JwtAuthorizer', config.api.jwtIssuer, {
      jwtAudience: config.api.jwtAudience,
      identitySource: ['$request.header.Authorization'],
    });
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'momo-sync app API',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
    });
    const integration = new HttpLambdaIntegration('ApiFunction', this.handler, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
    });
    for (const route of API_ROUTES) {
      this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration,
      });
    }

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: config.api.throttlingRateLimit,
        burstLimit: config.api.throttlingBurstLimit,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    new CfnOutput(this, 'Url', {
      description: 'Base URL of the app API',
      value: this.httpApi.apiEndpoint,
    });
  }

  private allow(actions: string[], resources: string[]): void {
    this.handler.addToRolePolicy(new PolicyStatement({ actions, resources }));
  }
}

/**
 * One JSON line per request. The route key names the route without its ids, and nothing here
 * carries a token or a claim: some providers put a phone number in `sub`.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatencyMs: '$context.integrationLatency',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  responseLength: '$context.responseLength',
};
