/**
 * What the consumer writes for operators: the EMF metrics of each sync (read back from stdout as
 * CloudWatch would extract them), the `sync finished` log line, and the fleet interval override
 * it reads from the control table. The engine and the provider client are stand-ins.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FLEET_SETTINGS_KEY } from '../../adapters/dynamodb/fleet-settings';
import type { SyncOutcome } from '../../core/model';
import type { SyncConfig, SyncDeps, SyncResult } from '../../core/sync-engine';
import { LOG_MESSAGES, METRICS } from '../../lib/metrics';
import { captureStdout, datapoints, type StdoutCapture, sumOf } from '../support/emf';
import { lambdaContext, sqsEvent, sqsRecord } from './events';

await vi.hoisted(async () => {
  const { syncAccountEnv } = await import('./events');
  Object.assign(
    process.env,
    syncAccountEnv({
      POWERTOOLS_METRICS_DISABLED: 'false',
      POWERTOOLS_METRICS_NAMESPACE: 'MomoSync',
      POWERTOOLS_SERVICE_NAME: 'sync-account',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    }),
  );
});

vi.mock('../../core/sync-engine', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../core/sync-engine')>()),
  syncAccount: vi.fn(),
}));

// A provider that retries one 429 before answering, as the real client reports it.
vi.mock('../../adapters/momo/client', () => ({
  MomoClient: class {
    async fetchStatement(
      _query: unknown,
      options?: { onRetry?: (retry: { failureClass: string; delayMs: number }) => void },
    ) {
      options?.onRetry?.({ failureClass: 'rate_limited', delayMs: 2_000 });
      return { transactions: [], balance: { amountMinor: 0, currency: 'GHS' } };
    }
  },
}));

const sqsMock = mockClient(SQSClient);
const secretsMock = mockClient(SecretsManagerClient);
const docMock = mockClient(DynamoDBDocumentClient);

type Handler = (event: SQSEvent, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
let handler: Handler;
let syncMock: ReturnType<typeof vi.fn>;
let PlatformAuthError: typeof import('../../core/errors').PlatformAuthError;
let stdout: StdoutCapture;

const SERVICE = { service: 'sync-account' };

const record = (n: number, trigger = 'schedule') =>
  sqsRecord({
    body: JSON.stringify({ accountId: `acc-${n}`, trigger, runId: 'schedule-2026-03-01' }),
    messageId: `msg-${n}`,
  });

const result = (outcome: SyncOutcome, overrides: Partial<SyncResult> = {}): SyncResult => ({
  outcome,
  counts: { added: 4, updated: 1, unchanged: 9, removed: 1, pages: 2, providerCalls: 3 },
  needsAnotherPass: false,
  ...overrides,
});

const run = (...records: ReturnType<typeof record>[]) =>
  handler(sqsEvent(...records), lambdaContext());

beforeEach(async () => {
  sqsMock.reset();
  secretsMock.reset();
  docMock.reset();
  docMock.on(GetCommand).resolves({});
  docMock.on(PutCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sent' });
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  secretsMock.on(GetSecretValueCommand).resolves({
    SecretString: JSON.stringify({ apiUser: 'u', apiKey: 'k', subscriptionKey: 's' }),
  });
  vi.resetModules();
  ({ PlatformAuthError } = await import('../../core/errors'));
  syncMock = vi.mocked((await import('../../core/sync-engine')).syncAccount);
  syncMock.mockReset();
  ({ handler } = (await import('../../lambdas/sync-account')) as unknown as { handler: Handler });
  stdout = captureStdout();
});

afterEach(() => {
  stdout.restore();
});

describe('sync-account metrics', () => {
  it('counts each sync by trigger and outcome, and by outcome alone', async () => {
    syncMock
      .mockResolvedValueOnce(result('synced'))
      .mockResolvedValueOnce(result('synced'))
      .mockResolvedValueOnce(result('auth_required', { errorCode: 'account_auth:LINK_EXPIRED' }));

    await run(record(1), record(2, 'manual'), record(3));

    const points = datapoints(stdout.blobs());
    expect(sumOf(points, METRICS.syncOutcome, { ...SERVICE, outcome: 'synced' })).toBe(2);
    expect(
      sumOf(points, METRICS.syncOutcome, { ...SERVICE, trigger: 'manual', outcome: 'synced' }),
    ).toBe(1);
    expect(sumOf(points, METRICS.syncOutcome, { ...SERVICE, outcome: 'auth_required' })).toBe(1);
  });

  it('writes durations, transactions and provider calls in one flush per batch', async () => {
    syncMock.mockResolvedValue(result('synced'));

    await run(record(1), record(2));

    const points = datapoints(stdout.blobs());
    const duration = points.filter((point) => point.name === METRICS.syncDuration);
    expect(duration).toHaveLength(1);
    expect(duration[0]?.values).toHaveLength(2);
    expect(sumOf(points, METRICS.transactionsAdded, SERVICE)).toBe(8);
    expect(sumOf(points, METRICS.transactionsUpdated, SERVICE)).toBe(2);
    expect(sumOf(points, METRICS.transactionsRemoved, SERVICE)).toBe(2);
    expect(sumOf(points, METRICS.providerCalls, SERVICE)).toBe(6);
  });

  it('counts the provider retries of a sync as provider errors and rate-limit waits', async () => {
    syncMock.mockImplementation(async (deps: SyncDeps) => {
      await deps.provider.fetchStatement({ walletId: 'w', from: 'a', to: 'b' });
      return result('synced');
    });

    await run(record(1));

    const points = datapoints(stdout.blobs());
    expect(sumOf(points, METRICS.providerErrors, { ...SERVICE, errorClass: 'rate_limited' })).toBe(
      1,
    );
    expect(sumOf(points, METRICS.rateLimitWaits, SERVICE)).toBe(1);
  });

  it('counts the re-auth episode a sync opened', async () => {
    syncMock.mockResolvedValue(
      result('auth_required', { errorCode: 'account_auth:LINK_REVOKED', openedEpisode: 1 }),
    );

    await run(record(1));

    expect(sumOf(datapoints(stdout.blobs()), METRICS.reauthEpisodesOpened, SERVICE)).toBe(1);
  });

  it('reports a sync our credentials stopped as a platform_auth_error outcome, and the circuit open', async () => {
    syncMock.mockRejectedValue(new PlatformAuthError({ code: 'INVALID_CREDENTIALS', status: 401 }));

    await run(record(1));

    const points = datapoints(stdout.blobs());
    expect(sumOf(points, METRICS.syncOutcome, { ...SERVICE, outcome: 'platform_auth_error' })).toBe(
      1,
    );
    expect(sumOf(points, METRICS.providerErrors, { ...SERVICE, errorClass: 'platform_auth' })).toBe(
      1,
    );
    expect(sumOf(points, METRICS.circuitOpen, SERVICE)).toBe(1);
  });

  it('logs one sync finished line per sync, with ids and counts', async () => {
    syncMock.mockResolvedValue(
      result('transient_error', { errorCode: 'transient:SERVICE_UNAVAILABLE', retryAfterMs: 1 }),
    );

    await run(record(7));

    const lines = stdout.logs().filter((line) => line.message === LOG_MESSAGES.syncFinished);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'sync-account',
      accountId: 'acc-7',
      runId: 'schedule-2026-03-01',
      trigger: 'schedule',
      outcome: 'transient_error',
      errorCode: 'transient:SERVICE_UNAVAILABLE',
      added: 4,
      providerCalls: 3,
    });
    expect(lines[0]?.durationMs).toEqual(expect.any(Number));
  });
});

describe('sync-account fleet interval', () => {
  const fleetItem = (minutes: number) =>
    docMock
      .on(GetCommand, { TableName: 'control', Key: { pk: FLEET_SETTINGS_KEY } })
      .resolves({ Item: { pk: FLEET_SETTINGS_KEY, syncIntervalMinutes: minutes } });

  it('hands the engine the fleet override from the control table', async () => {
    fleetItem(720);
    syncMock.mockResolvedValue(result('synced'));

    await run(record(1));

    const config = syncMock.mock.calls[0]?.[2] as SyncConfig;
    expect(config.fleetIntervalMinutes).toBe(720);
  });

  it('reads the override once for a whole batch', async () => {
    fleetItem(720);
    syncMock.mockResolvedValue(result('synced'));

    await run(record(1), record(2), record(3));

    const reads = docMock
      .commandCalls(GetCommand)
      .filter((call) => call.args[0].input.Key?.pk === FLEET_SETTINGS_KEY);
    expect(reads).toHaveLength(1);
  });

  it('leaves the override out when none is set', async () => {
    syncMock.mockResolvedValue(result('synced'));

    await run(record(1));

    const config = syncMock.mock.calls[0]?.[2] as SyncConfig;
    expect(config.fleetIntervalMinutes).toBeUndefined();
  });
});
