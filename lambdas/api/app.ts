/**
 * The api function's handler, built from its dependencies so that Lambda (./index), the local
 * stack and the tests run the very same code. It parses the API Gateway HTTP API (payload v2)
 * event, calls one operation of core/api and maps the result or a typed error to a response.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy, { type MiddlewareObj } from '@middy/core';
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { ErrorBody } from '../../core/api/contract';
import {
  ApiError,
  invalidRequest,
  isApiError,
  payloadTooLarge,
  unsupportedMediaType,
} from '../../core/api/errors';
import type { ApiSettings } from '../../core/api/ports';
import { API_ROUTES, type RouteKey, routeKey } from '../../core/api/routes';
import type { AccountsApi } from '../../core/api/service';
import {
  parseAccountId,
  parseEmptyBody,
  parseNoQuery,
  parsePageQuery,
  parseRelinkBody,
  parseSettingsBody,
  parseTransactionQuery,
} from '../../core/api/validation';
import { METRICS } from '../../lib/metrics';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;
export type ApiHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** Bodies are a few fields; anything near this size is not a request we understand. */
export const DEFAULT_MAX_BODY_BYTES = 4096;

export interface ApiHandlerOptions {
  api: AccountsApi;
  settings: ApiSettings;
  logger: Logger;
  metrics: Metrics;
  /** @default DEFAULT_MAX_BODY_BYTES */
  maxBodyBytes?: number;
}

interface Request {
  ownerId: string;
  accountId: string;
  query: ApiEvent['queryStringParameters'];
  body: unknown;
}

interface Outcome {
  status: number;
  body: unknown;
}

const KNOWN_ROUTES = new Set<string>(API_ROUTES.map(routeKey));
const BODY_ROUTES = new Set<string>(API_ROUTES.filter((r) => r.body).map(routeKey));

const HEADERS = {
  'content-type': 'application/json',
  // Account data is personal: no shared cache may keep it.
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

const INTERNAL_ERROR: ErrorBody = {
  error: { code: 'internal_error', message: 'Something went wrong on our side: try again later.' },
};

/** The api function's handler over the given domain, Powertools wired in. */
export function createApiHandler(options: ApiHandlerOptions): ApiHandler {
  const { api, settings, logger, metrics } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  const operations: Record<RouteKey, (request: Request) => Promise<Outcome>> = {
    'GET /accounts': async ({ ownerId, query }) => {
      parseNoQuery(query);
      return { status: 200, body: await api.listAccounts(ownerId) };
    },
    'POST /accounts/{id}/sync': async ({ ownerId, accountId, query, body }) => {
      parseNoQuery(query);
      parseEmptyBody(body);
      const result = await api.requestSync(ownerId, accountId);
      metrics.addMetric(
        result.status === 'queued' ? METRICS.manualSyncQueued : METRICS.manualSyncAlreadyRunning,
        MetricUnit.Count,
        1,
      );
      return { status: result.status === 'queued' ? 202 : 200, body: result };
    },
    'GET /accounts/{id}/sync-runs': async ({ ownerId, accountId, query }) => ({
      status: 200,
      body: await api.listSyncRuns(ownerId, accountId, parsePageQuery(query)),
    }),
    'GET /accounts/{id}/transactions': async ({ ownerId, accountId, query }) => ({
      status: 200,
      body: await api.listTransactions(ownerId, accountId, parseTransactionQuery(query)),
    }),
    'POST /accounts/{id}/relink': async ({ ownerId, accountId, query, body }) => {
      parseNoQuery(query);
      const result = await api.relink(ownerId, accountId, parseRelinkBody(body));
      metrics.addMetric(METRICS.relinkRecorded, MetricUnit.Count, 1);
      return { status: 202, body: result };
    },
    'PATCH /accounts/{id}/settings': async ({ ownerId, accountId, query, body }) => {
      parseNoQuery(query);
      const parsed = parseSettingsBody(body, settings);
      return { status: 200, body: await api.updateSettings(ownerId, accountId, parsed) };
    },
  };

  async function handle(event: ApiEvent): Promise<ApiResult> {
    try {
      const key = event.routeKey;
      if (!KNOWN_ROUTES.has(key)) throw new ApiError(404, 'not_found', 'No such route.');
      logger.appendKeys({ routeKey: key });
      const ownerId = callerOf(event);
      const body = readBody(event, BODY_ROUTES.has(key), maxBodyBytes);
      const accountId = key === 'GET /accounts' ? '' : parseAccountId(event.pathParameters?.id);
      if (accountId) logger.appendKeys({ accountId });
      const outcome = await operations[key as RouteKey]({
        ownerId,
        accountId,
        query: event.queryStringParameters,
        body,
      });
      return respond(outcome.status, outcome.body);
    } catch (error) {
      if (isApiError(error)) {
        if (error.status === 429) {
          metrics.addMetric(METRICS.manualSyncRateLimited, MetricUnit.Count, 1);
        }
        const headers =
          error.retryAfterSeconds !== undefined
            ? { 'retry-after': String(error.retryAfterSeconds) }
            : undefined;
        return respond(
          error.status,
          { error: { code: error.code, message: error.message } },
          headers,
        );
      }
      logger.error('request failed', error as Error);
      metrics.addMetric(METRICS.apiServerErrors, MetricUnit.Count, 1);
      return respond(500, INTERNAL_ERROR);
    }
  }

  return middy(handle)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(publishCounted(metrics)) as unknown as ApiHandler;
}

/**
 * Publishes what a request counted. Most requests are reads that count nothing, and Powertools'
 * own middleware would log a warning for each of them.
 */
function publishCounted(metrics: Metrics): MiddlewareObj {
  const publish = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}

/** The caller is the token's subject; the JWT authorizer has already checked the token. */
function callerOf(event: ApiEvent): string {
  const sub = event.requestContext.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub.length === 0) {
    throw new ApiError(401, 'unauthorized', 'The token names no subject.');
  }
  return sub;
}

/**
 * The JSON body, or undefined when there is none. A route that reads no body ignores one, as
 * docs/openapi.yaml promises no 413 there; on the others size is checked on the raw bytes
 * before any parsing, so an oversized request costs nothing but the check.
 */
function readBody(event: ApiEvent, accepts: boolean, maxBytes: number): unknown {
  if (!accepts) return undefined;
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body, 'base64')
    : Buffer.from(event.body, 'utf8');
  if (raw.byteLength > maxBytes) throw payloadTooLarge(maxBytes);
  const type = event.headers?.['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw unsupportedMediaType();
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalidRequest('the body is not valid JSON.');
  }
}

function respond(status: number, body: unknown, headers?: Record<string, string>): ApiResult {
  return {
    statusCode: status,
    headers: { ...HEADERS, ...headers },
    body: JSON.stringify(body),
  };
}
