/**
 * Waiting for a sync the app asked for: polls the account's sync runs, backing off, until the
 * run the request stands for has been recorded (a run is recorded when it ends).
 */
import { isNetworkError } from './errors';
import type { Page, SyncRequest, SyncRun } from './types';

export interface WaitForSyncOptions {
  /** Give up after this long. @default 120 s */
  timeoutMs?: number;
  /** First pause between polls. @default 1 s */
  initialDelayMs?: number;
  /** Longest pause between polls. @default 10 s */
  maxDelayMs?: number;
  /** Growth of the pause per poll. @default 1.6 */
  factor?: number;
  signal?: AbortSignal;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export type WaitForSyncResult =
  | { status: 'finished'; run: SyncRun }
  | { status: 'timed_out' }
  | { status: 'aborted' };

interface SyncRunSource {
  listSyncRuns(accountId: string, query: { limit: number }): Promise<Page<SyncRun>>;
}

/** Recent runs are enough: the one we wait for is among the newest. */
const POLL_PAGE_SIZE = 10;

/**
 * Whether `run` answers the request. A queued request is answered by its own run, or by any
 * run that started after it (another trigger may take the account first, and then ours is
 * skipped without a record). A request that found a sync running is answered when that sync,
 * or any later one, has finished.
 */
export function answersRequest(run: SyncRun, request: SyncRequest): boolean {
  const requestedAt = Date.parse(request.requested_at);
  if (request.status === 'queued') {
    return run.run_id === request.run_id || Date.parse(run.started_at) >= requestedAt;
  }
  return Date.parse(run.finished_at) >= requestedAt;
}

/** Polls until the sync of `request` has finished, the time runs out or `signal` aborts. */
export async function waitForSync(
  source: SyncRunSource,
  request: SyncRequest,
  options: WaitForSyncOptions = {},
): Promise<WaitForSyncResult> {
  const now = options.now ?? Date.now;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = now() + (options.timeoutMs ?? 120_000);
  const maxDelay = options.maxDelayMs ?? 10_000;
  const factor = options.factor ?? 1.6;
  let delay = options.initialDelayMs ?? 1_000;
  for (;;) {
    if (options.signal?.aborted) return { status: 'aborted' };
    try {
      const page = await source.listSyncRuns(request.account_id, { limit: POLL_PAGE_SIZE });
      const run = page.items.find((candidate) => answersRequest(candidate, request));
      if (run) return { status: 'finished', run };
    } catch (error) {
      // Being offline for a moment is no reason to stop waiting; any other failure is.
      if (!isNetworkError(error)) throw error;
    }
    const left = deadline - now();
    if (left <= 0) return { status: 'timed_out' };
    await sleep(Math.min(delay, left));
    delay = Math.min(maxDelay, Math.round(delay * factor));
  }
}
