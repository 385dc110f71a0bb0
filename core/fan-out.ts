/**
 * The fan-out: turns one scheduled run into one sync message per due account.
 *
 * How due accounts are found, and why not with an index. A "due" GSI keyed on `dueAt` would
 * let the fan-out query only the due accounts, but every sync moves `dueAt`, and an update of an
 * index key is a delete plus a put in the index: about 2 extra write units per account per day.
 * At 10 million accounts that is 20 million WRU a day, about $12.50 a day at on-demand prices
 * ($0.625 per million), or $375 a month, paid on the hot path of every sync, and a time-keyed
 * index concentrates writes on few partitions. A parallel Scan reads the whole table once a day
 * instead: 10 million items of about 600 bytes are 6 GB, 1.5 million 4 KB units, halved for an
 * eventually consistent read: about 0.75 million RRU, under $0.10 a day ($0.125 per million),
 * and it costs the sync nothing. The scan is split into S segments that run in parallel, so the
 * fleet is read in minutes: 6 GB in 1 MB pages is about 6,000 pages, 375 per segment at S = 16.
 *
 * The run, step by step:
 * 1. The scheduler invokes the fan-out with its scheduled time, which names the run. The planner
 *    puts one {@link FanOutTask} per segment on the fan-out queue, once per run id: it is wrapped
 *    in Powertools idempotency in the handler, because both the scheduler and Lambda's
 *    asynchronous invocation retry.
 * 2. Each task, delivered by the fan-out queue one at a time, pages through its segment and
 *    queues a {@link SyncMessage} for each account due by the run time plus a tolerance and not
 *    waiting for a re-link. Accounts in backoff or under a longer frequency override are not due:
 *    their `dueAt` already says when they are.
 * 3. When time runs short the task queues its own continuation from the page it reached. When
 *    some messages could not be queued after the queue adapter's retries, it queues the same page
 *    again, a little later, a bounded number of times.
 *
 * Duplicates that still slip through (a redelivered task, a page queued again) are harmless: a
 * scheduled sync takes the account's lease only while `dueAt` is at or before its run time, so
 * the second message finds the account already synced and does nothing.
 */
import type { Account, SyncMessage } from './model';
import type { SyncQueue } from './ports';

/** An opaque DynamoDB start key; the fan-out only hands it back. */
export type ScanStartKey = Record<string, unknown>;

/** One piece of a run: a scan segment from a start key. */
export interface FanOutTask {
  runId: string;
  /** Accounts with `dueAt` at or before this instant are queued. */
  dueBy: string;
  segment: number;
  totalSegments: number;
  startKey?: ScanStartKey;
  /** How many times this page was queued again because messages failed to send. */
  retries?: number;
}

/** What the fan-out reads of an account. */
export type DueAccount = Pick<Account, 'accountId' | 'dueAt' | 'syncStatus'>;

/** The accounts table, as the fan-out sees it. */
export interface DueAccountSource {
  /** One page of one segment, already filtered to due accounts not waiting for a re-link. */
  scanDueSegment(request: {
    segment: number;
    totalSegments: number;
    dueBy: string;
    limit?: number;
    startKey?: ScanStartKey;
  }): Promise<{ accounts: DueAccount[]; lastKey?: ScanStartKey }>;
}

/** The queue of fan-out tasks. */
export interface FanOutTaskQueue {
  /** Queues tasks, each visible after `delaySeconds`; throws if any could not be queued. */
  put(tasks: FanOutTask[], options?: { delaySeconds?: number }): Promise<void>;
}

export interface FanOutConfig {
  /** Parallel scan segments per run. */
  totalSegments: number;
  /** Accounts due up to this long after the run time are taken (see the engine's config). */
  dueToleranceMs: number;
}

/** A planned run: its id and one task per segment. */
export interface RunPlan {
  runId: string;
  runTime: string;
  tasks: FanOutTask[];
}

/** The schedule event did not carry a usable scheduled time. */
export class InvalidScheduleError extends Error {
  constructor(readonly value: unknown) {
    super('invalid scheduled time');
    this.name = 'InvalidScheduleError';
  }
}

/** The run id of a scheduled time: the same occurrence always gets the same id. */
export function runIdOf(runTime: Date): string {
  return `schedule-${runTime.toISOString()}`;
}

/** The scheduled time a run id names; undefined for a run no schedule started (a manual sync). */
export function runTimeOf(runId: string): Date | undefined {
  const iso = /^schedule-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)$/.exec(runId)?.[1];
  if (iso === undefined) return undefined;
  const time = new Date(iso);
  // Date rolls a day that does not exist (02-30) over into the next month: no run has that id.
  return !Number.isNaN(time.getTime()) && time.toISOString() === iso ? time : undefined;
}

/** Plans a run from the schedule's scheduled time: one task per scan segment. */
export function planRun(scheduledTime: string, config: FanOutConfig): RunPlan {
  const runTime = new Date(scheduledTime);
  if (Number.isNaN(runTime.getTime())) throw new InvalidScheduleError(scheduledTime);
  const runId = runIdOf(runTime);
  const dueBy = new Date(runTime.getTime() + config.dueToleranceMs).toISOString();
  const tasks = Array.from({ length: config.totalSegments }, (_, segment) => ({
    runId,
    dueBy,
    segment,
    totalSegments: config.totalSegments,
  }));
  return { runId, runTime: runTime.toISOString(), tasks };
}

export interface SegmentDeps {
  accounts: DueAccountSource;
  syncQueue: SyncQueue;
}

export interface SegmentOptions {
  /** Milliseconds left before the caller is cut off. */
  remainingTimeMs: () => number;
  /** Below this, no new page is started and a continuation is returned instead. */
  minRemainingMs: number;
  /** Items DynamoDB evaluates per page; absent means its 1 MB pages. */
  pageLimit?: number;
}

export interface SegmentResult {
  pages: number;
  enqueued: number;
  /** Messages that could not be queued (their page is in `next`, to be queued again). */
  failed: number;
  /** Queue requests made. */
  requests: number;
  /** The task to run next: a continuation, or the failed page again (`retryPage`). */
  next?: FanOutTask;
  retryPage: boolean;
}

/**
 * Pages through one segment, queueing a sync for every due account, until the segment ends,
 * time runs short, or a page could not be fully queued.
 */
export async function runSegment(
  deps: SegmentDeps,
  task: FanOutTask,
  options: SegmentOptions,
): Promise<SegmentResult> {
  const result: SegmentResult = { pages: 0, enqueued: 0, failed: 0, requests: 0, retryPage: false };
  let startKey = task.startKey;
  for (;;) {
    // Always read at least one page, so that every invocation makes progress.
    if (result.pages > 0 && options.remainingTimeMs() < options.minRemainingMs) {
      result.next = { ...withoutRetries(task), startKey };
      return result;
    }
    const page = await deps.accounts.scanDueSegment({
      segment: task.segment,
      totalSegments: task.totalSegments,
      dueBy: task.dueBy,
      limit: options.pageLimit,
      startKey,
    });
    result.pages += 1;
    const messages = page.accounts
      .filter((account) => isDue(account, task.dueBy))
      .map(
        (account): SyncMessage => ({
          accountId: account.accountId,
          trigger: 'schedule',
          runId: task.runId,
        }),
      );
    if (messages.length > 0) {
      const sent = await deps.syncQueue.enqueue(messages);
      result.requests += sent.requests;
      result.enqueued += messages.length - sent.failed.length;
      if (sent.failed.length > 0) {
        // Queue the whole page again rather than the failed accounts alone: a task stays a
        // (segment, start key) pair, and the accounts queued twice are no-ops for the consumer.
        result.failed += sent.failed.length;
        result.next = { ...task, startKey, retries: (task.retries ?? 0) + 1 };
        result.retryPage = true;
        return result;
      }
    }
    if (page.lastKey === undefined) return result;
    startKey = page.lastKey;
  }
}

/** The source filters already; the rule is repeated here so that it lives in the domain. */
function isDue(account: DueAccount, dueBy: string): boolean {
  return account.syncStatus !== 'auth_required' && account.dueAt <= dueBy;
}

function withoutRetries(task: FanOutTask): FanOutTask {
  const { retries: _retries, ...rest } = task;
  return rest;
}
