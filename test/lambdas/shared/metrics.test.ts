import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SyncMessage } from '../../../core/model';
import type { SyncResult } from '../../../core/sync-engine';
import {
  providerErrorsOf,
  RetryTally,
  reportSync,
  tallyRetries,
} from '../../../lambdas/shared/metrics';
import { LOG_MESSAGES, METRICS, METRICS_NAMESPACE } from '../../../lib/metrics';
import { captureStdout, datapoints, type StdoutCapture, sumOf } from '../../support/emf';

const SERVICE = { service: 'sync-account' };

const messageFactory = (overrides: Partial<SyncMessage> = {}): SyncMessage => ({
  accountId: 'acc-1',
  trigger: 'schedule',
  runId: '2026-03-01T02:00:00Z',
  ...overrides,
});

const resultFactory = (overrides: Partial<SyncResult> = {}): SyncResult => ({
  outcome: 'synced',
  counts: { added: 3, updated: 1, unchanged: 7, removed: 2, pages: 2, providerCalls: 3 },
  needsAnotherPass: false,
  ...overrides,
});

let stdout: StdoutCapture;
let metrics: Metrics;
let logger: Logger;

beforeEach(() => {
  stdout = captureStdout();
  metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'sync-account' });
  logger = new Logger({ serviceName: 'sync-account', logLevel: 'INFO' });
});

afterEach(() => {
  stdout.restore();
});

/** Reports the syncs, flushes the handler's metrics as logMetrics would, and reads stdout. */
function report(...reports: Parameters<typeof reportSync>[2][]) {
  for (const one of reports) reportSync(logger, metrics, one);
  metrics.publishStoredMetrics();
  return datapoints(stdout.blobs());
}

describe('reportSync', () => {
  it('counts the outcome under (trigger, outcome) and (outcome), in the MomoSync namespace', () => {
    const points = report(
      { message: messageFactory(), result: resultFactory(), durationMs: 840 },
      { message: messageFactory({ trigger: 'manual' }), result: resultFactory(), durationMs: 90 },
    );

    expect(sumOf(points, METRICS.syncOutcome, { ...SERVICE, outcome: 'synced' })).toBe(2);
    expect(
      sumOf(points, METRICS.syncOutcome, { ...SERVICE, trigger: 'manual', outcome: 'synced' }),
    ).toBe(1);
    expect(new Set(points.map((point) => point.namespace))).toEqual(new Set([METRICS_NAMESPACE]));
  });

  it('writes every sync duration as its own sample, so percentiles are exact', () => {
    const points = report(
      { message: messageFactory(), result: resultFactory(), durationMs: 840 },
      { message: messageFactory(), result: resultFactory(), durationMs: 90 },
    );

    const duration = points.find((point) => point.name === METRICS.syncDuration);
    expect(duration).toMatchObject({
      unit: 'Milliseconds',
      dimensions: SERVICE,
      values: [840, 90],
    });
  });

  it.each([
    [METRICS.transactionsAdded, 3],
    [METRICS.transactionsUpdated, 1],
    [METRICS.transactionsRemoved, 2],
    [METRICS.providerCalls, 3],
    [METRICS.reauthEpisodesOpened, 0],
    [METRICS.rateLimitWaits, 0],
  ])('records %s from the result with the service dimension only', (name, expected) => {
    const points = report({ message: messageFactory(), result: resultFactory(), durationMs: 5 });

    const point = points.find((candidate) => candidate.name === name);
    expect(point?.dimensions).toEqual(SERVICE);
    expect(point?.values).toEqual([expected]);
  });

  it('counts provider errors by class: the retried ones and the one that ended the sync', () => {
    const retries = new RetryTally();
    retries.add({ failureClass: 'transient', delayMs: 100 });
    retries.add({ failureClass: 'rate_limited', delayMs: 2_000 });
    retries.add({ failureClass: 'rate_limited', delayMs: 1_000 });
    const result = resultFactory({
      outcome: 'transient_error',
      errorCode: 'transient:SERVICE_UNAVAILABLE',
    });

    const points = report({ message: messageFactory(), result, durationMs: 30, retries });

    expect(sumOf(points, METRICS.providerErrors, { ...SERVICE, errorClass: 'transient' })).toBe(2);
    expect(sumOf(points, METRICS.providerErrors, { ...SERVICE, errorClass: 'rate_limited' })).toBe(
      2,
    );
    expect(sumOf(points, METRICS.rateLimitWaits, SERVICE)).toBe(2);
  });

  it('counts a re-auth episode the sync opened', () => {
    const result = resultFactory({
      outcome: 'auth_required',
      errorCode: 'account_auth:LINK_EXPIRED',
      openedEpisode: 2,
    });

    const points = report({ message: messageFactory(), result, durationMs: 30 });

    expect(sumOf(points, METRICS.reauthEpisodesOpened, SERVICE)).toBe(1);
    expect(sumOf(points, METRICS.providerErrors, { ...SERVICE, errorClass: 'account_auth' })).toBe(
      1,
    );
  });

  it('counts a skipped sync but leaves it out of durations and transactions', () => {
    const result = resultFactory({ outcome: 'skipped', skipReason: 'not_due' });

    const points = report({ message: messageFactory(), result, durationMs: 2 });

    expect(sumOf(points, METRICS.syncOutcome, { ...SERVICE, outcome: 'skipped' })).toBe(1);
    expect(points.map((point) => point.name)).not.toContain(METRICS.syncDuration);
  });

  it('never files a metric under an account or run id', () => {
    const points = report({
      message: messageFactory({ accountId: 'acc-secret-9' }),
      result: resultFactory(),
      durationMs: 1,
    });

    const dimensionValues = points.flatMap((point) => Object.values(point.dimensions));
    expect(dimensionValues).not.toContain('acc-secret-9');
    expect(points.flatMap((point) => Object.keys(point.dimensions))).not.toContain('runId');
  });

  it('logs one sync finished line with ids, outcome, error code and counts', () => {
    const result = resultFactory({ outcome: 'permanent_error', errorCode: 'permanent:NOT_FOUND' });

    report({ message: messageFactory({ trigger: 'manual' }), result, durationMs: 120 });

    const lines = stdout.logs().filter((line) => line.message === LOG_MESSAGES.syncFinished);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'INFO',
      accountId: 'acc-1',
      runId: '2026-03-01T02:00:00Z',
      trigger: 'manual',
      outcome: 'permanent_error',
      errorCode: 'permanent:NOT_FOUND',
      durationMs: 120,
      added: 3,
      updated: 1,
      removed: 2,
      providerCalls: 3,
    });
  });
});

describe('providerErrorsOf', () => {
  it('ignores an error code outside the provider taxonomy', () => {
    const errors = providerErrorsOf({
      message: messageFactory(),
      result: resultFactory({ outcome: 'transient_error', errorCode: 'internal:TypeError' }),
      durationMs: 1,
    });

    expect([...errors]).toEqual([]);
  });
});

describe('tallyRetries', () => {
  it('counts the retries the provider reports and still calls the caller’s own hook', async () => {
    const tally = new RetryTally();
    const seen: string[] = [];
    const provider = tallyRetries(
      {
        fetchStatement: async (_query, options) => {
          options?.onRetry?.({ failureClass: 'rate_limited', delayMs: 1_000 });
          return { transactions: [], balance: { amountMinor: 0, currency: 'GHS' } };
        },
      },
      tally,
    );

    await provider.fetchStatement(
      { walletId: 'w', from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' },
      { onRetry: (retry) => seen.push(retry.failureClass) },
    );

    expect(tally.count('rate_limited')).toBe(1);
    expect(seen).toEqual(['rate_limited']);
  });
});
