/**
 * Builds the api function's domain from its environment: table and queue names from
 * lib/resources.ts, the operators' limits from lib/settings.ts `API_ENV`. Lambda calls it once
 * at module load; the local stack calls it with clients pointed at its engines.
 */
import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { DynamoSyncRunStore } from '../../adapters/dynamodb/sync-runs';
import { DynamoTransactionStore } from '../../adapters/dynamodb/transactions';
import { SqsSyncQueue } from '../../adapters/sqs/sync-queue';
import type { ApiSettings } from '../../core/api/ports';
import { AccountsApi } from '../../core/api/service';
import { type Clock, systemClock } from '../../core/ports';
import {
  ACCOUNTS_TABLE,
  MANUAL_QUEUE,
  SYNC_RUNS_TABLE,
  TRANSACTIONS_TABLE,
} from '../../lib/resources';
import { API_ENV } from '../../lib/settings';
import { intEnv, MissingSettingError, requireEnv } from '../shared/env';

/** The defaults lib/config.ts deploys, for a function started without the variables. */
export const DEFAULT_API_SETTINGS: ApiSettings = {
  manualSyncIntervalSeconds: 300,
  minSyncIntervalMinutes: 60,
  maxSyncIntervalMinutes: 7 * 24 * 60,
};

/** The operators' limits from the environment; a malformed value stops the cold start. */
export function apiSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const settings: ApiSettings = {
    manualSyncIntervalSeconds: intEnv(
      API_ENV.manualSyncIntervalSeconds,
      DEFAULT_API_SETTINGS.manualSyncIntervalSeconds,
      env,
    ),
    minSyncIntervalMinutes: intEnv(
      API_ENV.minSyncIntervalMinutes,
      DEFAULT_API_SETTINGS.minSyncIntervalMinutes,
      env,
    ),
    maxSyncIntervalMinutes: intEnv(
      API_ENV.maxSyncIntervalMinutes,
      DEFAULT_API_SETTINGS.maxSyncIntervalMinutes,
      env,
    ),
  };
  if (settings.minSyncIntervalMinutes > settings.maxSyncIntervalMinutes) {
    throw new MissingSettingError(API_ENV.minSyncIntervalMinutes, 'is above the maximum');
  }
  return settings;
}

export interface ApiClients {
  doc?: DynamoDBDocumentClient;
  sqs?: SQSClient;
  clock?: Clock;
}

/** The domain of the api function over DynamoDB and SQS, named by the environment. */
export function buildApi(
  env: NodeJS.ProcessEnv = process.env,
  clients: ApiClients = {},
): { api: AccountsApi; settings: ApiSettings } {
  const doc = clients.doc ?? createDocumentClient();
  const sqs = clients.sqs ?? new SQSClient({});
  const settings = apiSettingsFromEnv(env);
  const api = new AccountsApi(
    {
      accounts: new DynamoAccountStore(doc, requireEnv(ACCOUNTS_TABLE.env, env)),
      transactions: new DynamoTransactionStore(doc, requireEnv(TRANSACTIONS_TABLE.env, env)),
      syncRuns: new DynamoSyncRunStore(doc, requireEnv(SYNC_RUNS_TABLE.env, env)),
      // Two attempts: the caller is waiting, and the app retries a 500 itself.
      manualQueue: new SqsSyncQueue(sqs, requireEnv(MANUAL_QUEUE.env, env), { maxAttempts: 2 }),
      clock: clients.clock ?? systemClock,
      newRunId: () => randomUUID(),
    },
    settings,
  );
  return { api, settings };
}
