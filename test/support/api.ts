/**
 * The api handler on the local engines for route tests: dynalite with the real tables, a manual
 * queue on local-aws-sqs, the real adapters wired by lambdas/api/deps, and a clock the test
 * moves. Plus factories for API Gateway payload v2 events.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { DynamoSyncRunStore } from '../../adapters/dynamodb/sync-runs';
import { DynamoTransactionStore } from '../../adapters/dynamodb/transactions';
import type { ApiSettings } from '../../core/api/ports';
import type { RouteKey } from '../../core/api/routes';
import type { SyncMessage } from '../../core/model';
import type { Clock } from '../../core/ports';
import { type ApiEvent, type ApiHandler, createApiHandler } from '../../lambdas/api/app';
import { buildApi } from '../../lambdas/api/deps';
import {
  ACCOUNTS_TABLE,
  MANUAL_QUEUE,
  SYNC_RUNS_TABLE,
  TRANSACTIONS_TABLE,
} from '../../lib/resources';
import { API_ENV } from '../../lib/settings';
import type { LocalQueue } from '../../local/engines/sqs';
import { lambdaContext } from '../../local/http-api';
import { startTestSqs, type TestSqs } from '../local/sqs-fixture';
import { startTestDynamo, type TestDynamo } from './dynamo';

/** A clock the test sets and moves. */
export class TestClock implements Clock {
  private current: number;

  constructor(start: string | Date = '2026-03-02T12:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(ms: number): void {
    this.current += ms;
  }

  iso(offsetMs = 0): string {
    return new Date(this.current + offsetMs).toISOString();
  }
}

export const TEST_SETTINGS: ApiSettings = {
  manualSyncIntervalSeconds: 300,
  minSyncIntervalMinutes: 60,
  maxSyncIntervalMinutes: 10_080,
};

export interface ApiTestBed {
  dynamo: TestDynamo;
  sqs: TestSqs;
  manualQueue: LocalQueue;
  accounts: DynamoAccountStore;
  transactions: DynamoTransactionStore;
  syncRuns: DynamoSyncRunStore;
  clock: TestClock;
  settings: ApiSettings;
  handler: ApiHandler;
  /** Another handler over the same engines, with `env` overrides (a missing queue, ...). */
  handlerWith(env: Record<string, string>, clock?: Clock): ApiHandler;
  /** Receives and deletes every message now on the manual queue. */
  takeQueued(): Promise<SyncMessage[]>;
  close(): Promise<void>;
}

/** One test bed per test file: start it in `beforeAll`, close it in `afterAll`. */
export async function startApiTestBed(options: { clock?: Clock } = {}): Promise<ApiTestBed> {
  // EMF lines on stdout would bury the test report.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const dynamo = await startTestDynamo('api');
  const sqs = await startTestSqs();
  const manualQueue = await sqs.queue();
  const clock = new TestClock();
  const baseEnv: Record<string, string> = {
    [ACCOUNTS_TABLE.env]: dynamo.tables.accounts,
    [TRANSACTIONS_TABLE.env]: dynamo.tables.transactions,
    [SYNC_RUNS_TABLE.env]: dynamo.tables.syncRuns,
    [MANUAL_QUEUE.env]: manualQueue.url,
    [API_ENV.manualSyncIntervalSeconds]: String(TEST_SETTINGS.manualSyncIntervalSeconds),
    [API_ENV.minSyncIntervalMinutes]: String(TEST_SETTINGS.minSyncIntervalMinutes),
    [API_ENV.maxSyncIntervalMinutes]: String(TEST_SETTINGS.maxSyncIntervalMinutes),
  };
  const handlerWith = (env: Record<string, string>, withClock: Clock = options.clock ?? clock) =>
    createApiHandler({
      ...buildApi({ ...baseEnv, ...env }, { doc: dynamo.doc, sqs: sqs.client, clock: withClock }),
      logger: new Logger({ serviceName: 'api', logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'MomoSyncTest', serviceName: 'api' }),
    });
  return {
    dynamo,
    sqs,
    manualQueue,
    accounts: new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts),
    transactions: new DynamoTransactionStore(dynamo.doc, dynamo.tables.transactions),
    syncRuns: new DynamoSyncRunStore(dynamo.doc, dynamo.tables.syncRuns),
    clock,
    settings: TEST_SETTINGS,
    handler: handlerWith({}),
    handlerWith,
    async takeQueued() {
      const messages: SyncMessage[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.client.send(
          new ReceiveMessageCommand({
            QueueUrl: manualQueue.url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
          }),
        );
        if (Messages.length === 0) return messages;
        for (const message of Messages) messages.push(JSON.parse(message.Body ?? '{}'));
        await sqs.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: manualQueue.url,
            Entries: Messages.map((message, i) => ({
              Id: String(i),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      }
    },
    async close() {
      await sqs.close();
      await dynamo.close();
    },
  };
}

export interface ApiRequestSpec {
  route: RouteKey;
  /** The token's subject; null for a token without one. @default 'user-a' */
  sub?: string | null;
  id?: string;
  query?: Record<string, string>;
  /** An object is sent as JSON; a string as it is. */
  body?: unknown;
  headers?: Record<string, string>;
  base64?: boolean;
}

/** An API Gateway HTTP API (payload v2) event as the JWT authorizer passes it on. */
export function apiEvent(spec: ApiRequestSpec): ApiEvent {
  const [method, template] = spec.route.split(' ') as [string, string];
  const rawPath = template.replace('{id}', encodeURIComponent(spec.id ?? ''));
  const text =
    spec.body === undefined
      ? undefined
      : typeof spec.body === 'string'
        ? spec.body
        : JSON.stringify(spec.body);
  const sub = spec.sub === undefined ? 'user-a' : spec.sub;
  return {
    version: '2.0',
    routeKey: spec.route,
    rawPath,
    rawQueryString: new URLSearchParams(spec.query ?? {}).toString(),
    headers: {
      host: 'api.test',
      ...(text !== undefined ? { 'content-type': 'application/json' } : {}),
      ...spec.headers,
    },
    ...(spec.query ? { queryStringParameters: spec.query } : {}),
    ...(spec.id !== undefined ? { pathParameters: { id: spec.id } } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'test',
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: {
          claims: {
            iss: 'https://issuer.test',
            aud: 'momo-sync-app',
            ...(sub !== null ? { sub } : {}),
          },
          scopes: [],
        },
      },
      domainName: 'api.test',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 't' },
      requestId: 'req-1',
      routeKey: spec.route,
      stage: '$default',
      time: '02/Mar/2026:12:00:00 +0000',
      timeEpoch: 0,
    },
    ...(text !== undefined
      ? spec.base64
        ? { body: Buffer.from(text).toString('base64'), isBase64Encoded: true }
        : { body: text, isBase64Encoded: false }
      : { isBase64Encoded: false }),
  };
}

export interface ApiResponse<T = unknown> {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: T;
}

export function testContext(): Context {
  return lambdaContext('momo-sync-api-test', 10_000);
}

/** Calls the handler with the event and parses the JSON body. */
// biome-ignore lint/suspicious/noExplicitAny: tests read bodies loosely; the OpenAPI checker types them.
export async function invoke<T = any>(
  handler: ApiHandler,
  spec: ApiRequestSpec,
): Promise<ApiResponse<T>> {
  const result = await handler(apiEvent(spec), testContext());
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    headers[name.toLowerCase()] = String(value);
  }
  return {
    statusCode: result.statusCode ?? 200,
    headers,
    body: result.body ? JSON.parse(result.body) : undefined,
  };
}
