/**
 * How the consumer reports one sync: one structured log line (`sync finished`, which the saved
 * Logs Insights queries read) and its metrics, under the names of lib/metrics.ts.
 *
 * EMF gives every metric of one log line the same dimension sets, so the per-sync metrics go in
 * three shapes: the outcome count on a line of its own filed under (trigger, outcome) and under
 * (outcome), provider errors on a line per failure class, and everything else on the handler's own
 * Metrics instance with the service dimension only, flushed once per batch by `logMetrics`. A
 * metric that is added repeatedly in a batch is written as an array of values, which CloudWatch
 * treats as that many samples, so percentiles of SyncDuration stay exact.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { FailureClass } from '../../core/errors';
import type { SyncMessage } from '../../core/model';
import type { FetchOptions, RetryInfo, WalletProvider } from '../../core/ports';
import type { SyncResult } from '../../core/sync-engine';
import {
  DIMENSIONS,
  errorClassOf,
  LOG_MESSAGES,
  METRICS,
  type SyncLogLine,
} from '../../lib/metrics';

/**
 * Counts the provider failures the client retried during one sync (the final failure, if any,
 * is in the result's error code). Wrap the provider once per sync with {@link tallyRetries}.
 */
export class RetryTally {
  private readonly byClass = new Map<FailureClass, number>();

  add(retry: RetryInfo): void {
    this.byClass.set(retry.failureClass, (this.byClass.get(retry.failureClass) ?? 0) + 1);
  }

  /** Retries of the given class so far. */
  count(failureClass: FailureClass): number {
    return this.byClass.get(failureClass) ?? 0;
  }

  entries(): [FailureClass, number][] {
    return [...this.byClass.entries()];
  }
}

/** The provider, with every retry the client makes counted into `tally`. */
export function tallyRetries(provider: WalletProvider, tally: RetryTally): WalletProvider {
  return {
    fetchStatement: (query, options: FetchOptions = {}) =>
      provider.fetchStatement(query, {
        ...options,
        onRetry: (retry) => {
          tally.add(retry);
          options.onRetry?.(retry);
        },
      }),
  };
}

/** What the consumer knows about one finished sync. */
export interface SyncReport {
  message: SyncMessage;
  result: SyncResult;
  /** Wall time of the engine call, measured by the consumer. */
  durationMs: number;
  retries?: RetryTally;
}

/** Provider failures of one sync by class: the retried ones plus the one that ended it. */
export function providerErrorsOf(report: SyncReport): Map<FailureClass, number> {
  const errors = new Map<FailureClass, number>(report.retries?.entries() ?? []);
  const final = errorClassOf(report.result.errorCode);
  if (final !== undefined) errors.set(final, (errors.get(final) ?? 0) + 1);
  return errors;
}

/** The `sync finished` log line's keys: ids, outcome and counts, never a payload. */
export function syncLogLine(report: SyncReport): SyncLogLine & { skipReason?: string } {
  const { message, result } = report;
  return {
    accountId: message.accountId,
    runId: message.runId,
    trigger: message.trigger,
    outcome: result.outcome,
    ...(result.errorCode !== undefined ? { errorCode: result.errorCode } : {}),
    ...(result.skipReason !== undefined ? { skipReason: result.skipReason } : {}),
    durationMs: report.durationMs,
    added: result.counts.added,
    updated: result.counts.updated,
    unchanged: result.counts.unchanged,
    removed: result.counts.removed,
    pages: result.counts.pages,
    providerCalls: result.counts.providerCalls,
  };
}

/** Logs one `sync finished` line and records the sync's metrics. */
export function reportSync(logger: Logger, metrics: Metrics, report: SyncReport): void {
  const { message, result } = report;
  logger.info(LOG_MESSAGES.syncFinished, { ...syncLogLine(report) });

  // One line filed twice: (service, outcome, trigger) and (service, outcome). `outcome` is a
  // default of this single-metric instance so that it joins both sets without being written
  // twice (Powertools warns on a key repeated across sets), and the empty set is the one with
  // the defaults alone. test/lambdas/shared/metrics.test.ts pins the two sets.
  const outcome = metrics.singleMetric();
  outcome.setDefaultDimensions({ [DIMENSIONS.outcome]: result.outcome });
  outcome.addDimensions({ [DIMENSIONS.trigger]: message.trigger });
  outcome.addDimensions({});
  outcome.addMetric(METRICS.syncOutcome, MetricUnit.Count, 1);

  for (const [errorClass, count] of providerErrorsOf(report)) {
    const errors = metrics.singleMetric();
    errors.addDimension(DIMENSIONS.errorClass, errorClass);
    errors.addMetric(METRICS.providerErrors, MetricUnit.Count, count);
  }

  // A skipped sync never leased the account: its few milliseconds would only drag the
  // percentiles down, and it moved nothing.
  if (result.outcome === 'skipped') return;
  metrics.addMetric(METRICS.syncDuration, MetricUnit.Milliseconds, report.durationMs);
  metrics.addMetric(METRICS.transactionsAdded, MetricUnit.Count, result.counts.added);
  metrics.addMetric(METRICS.transactionsUpdated, MetricUnit.Count, result.counts.updated);
  metrics.addMetric(METRICS.transactionsRemoved, MetricUnit.Count, result.counts.removed);
  metrics.addMetric(METRICS.providerCalls, MetricUnit.Count, result.counts.providerCalls);
  // Zeros too: a graph of sums then shows a quiet fleet as 0, not as missing data.
  const waits = report.retries?.count('rate_limited') ?? 0;
  metrics.addMetric(METRICS.rateLimitWaits, MetricUnit.Count, waits);
  const opened = result.openedEpisode !== undefined ? 1 : 0;
  metrics.addMetric(METRICS.reauthEpisodesOpened, MetricUnit.Count, opened);
}
