import { describe, expect, it } from 'vitest';
import {
  type DueAccount,
  type DueAccountSource,
  type FanOutTask,
  InvalidScheduleError,
  planRun,
  runIdOf,
  runSegment,
  runTimeOf,
  type ScanStartKey,
} from '../../core/fan-out';
import type { SyncMessage } from '../../core/model';
import type { SyncQueue } from '../../core/ports';

const RUN_TIME = '2026-03-01T02:00:00.000Z';
const DUE_BY = '2026-03-01T03:00:00.000Z';

const dueAccount = (n: number, overrides: Partial<DueAccount> = {}): DueAccount => ({
  accountId: `acc-${n}`,
  dueAt: '2026-03-01T01:00:00.000Z',
  syncStatus: 'active',
  ...overrides,
});

const task = (overrides: Partial<FanOutTask> = {}): FanOutTask => ({
  runId: `schedule-${RUN_TIME}`,
  dueBy: DUE_BY,
  segment: 3,
  totalSegments: 8,
  ...overrides,
});

/** A segment served as fixed pages; the start key of page i is `{ page: i }`. */
function pagedSource(pages: DueAccount[][]) {
  const reads: (ScanStartKey | undefined)[] = [];
  const source: DueAccountSource = {
    async scanDueSegment(request) {
      reads.push(request.startKey);
      const index = (request.startKey?.page as number | undefined) ?? 0;
      const accounts = pages[index] ?? [];
      return index + 1 < pages.length ? { accounts, lastKey: { page: index + 1 } } : { accounts };
    },
  };
  return { source, reads };
}

/** A queue that records what it was given and refuses the given account ids. */
function recordingQueue(refuse: string[] = []) {
  const sent: SyncMessage[] = [];
  const queue: SyncQueue = {
    async enqueue(messages) {
      const failed = messages.filter((m) => refuse.includes(m.accountId));
      sent.push(...messages.filter((m) => !refuse.includes(m.accountId)));
      return { failed, requests: Math.ceil(messages.length / 10) };
    },
  };
  return { queue, sent };
}

const plenty = { remainingTimeMs: () => 600_000, minRemainingMs: 30_000 };

describe('runTimeOf', () => {
  it('reads back the scheduled time a run id was made from', () => {
    expect(runTimeOf(runIdOf(new Date(RUN_TIME)))?.toISOString()).toBe(RUN_TIME);
  });

  it.each([
    ['a manual sync', 'f3b0c1de-0000-4000-8000-000000000000'],
    ['a time without milliseconds', 'schedule-2026-03-01T02:00:00Z'],
    ['a date that does not exist', 'schedule-2026-02-30T02:00:00.000Z'],
    ['no time', 'schedule-'],
  ])('names no scheduled time for %s', (_case, runId) => {
    expect(runTimeOf(runId)).toBeUndefined();
  });
});

describe('planRun', () => {
  it('plans one task per segment, due by the run time plus the tolerance', () => {
    const plan = planRun('2026-03-01T02:00:00Z', { totalSegments: 4, dueToleranceMs: 3_600_000 });

    expect(plan.runId).toBe(`schedule-${RUN_TIME}`);
    expect(plan.tasks).toEqual(
      [0, 1, 2, 3].map((segment) => ({
        runId: `schedule-${RUN_TIME}`,
        dueBy: DUE_BY,
        segment,
        totalSegments: 4,
      })),
    );
  });

  it('gives every retry of one occurrence the same run id', () => {
    const config = { totalSegments: 2, dueToleranceMs: 0 };

    const first = planRun('2026-03-01T02:00:00Z', config);
    const retried = planRun('2026-03-01T02:00:00.000Z', config);

    expect(retried.runId).toBe(first.runId);
  });

  it.each(['', 'yesterday', '<aws.scheduler.scheduled-time>'])(
    'refuses the scheduled time %j',
    (value) => {
      expect(() => planRun(value, { totalSegments: 1, dueToleranceMs: 0 })).toThrow(
        InvalidScheduleError,
      );
    },
  );
});

describe('runSegment', () => {
  it('queues a scheduled sync for every due account on every page of the segment', async () => {
    const { source, reads } = pagedSource([[dueAccount(1), dueAccount(2)], [], [dueAccount(3)]]);
    const { queue, sent } = recordingQueue();

    const result = await runSegment({ accounts: source, syncQueue: queue }, task(), plenty);

    expect(reads).toEqual([undefined, { page: 1 }, { page: 2 }]);
    expect(sent).toEqual(
      [1, 2, 3].map((n) => ({
        accountId: `acc-${n}`,
        trigger: 'schedule',
        runId: `schedule-${RUN_TIME}`,
      })),
    );
    expect(result).toMatchObject({ pages: 3, enqueued: 3, failed: 0, retryPage: false });
    expect(result.next).toBeUndefined();
  });

  it.each([
    ['waits for a re-link', { syncStatus: 'auth_required' as const }],
    ['is due after the run', { dueAt: '2026-03-01T03:00:00.001Z' }],
  ])('skips an account that %s, whatever the source returns', async (_case, overrides) => {
    const { source } = pagedSource([[dueAccount(1), dueAccount(2, overrides)]]);
    const { queue, sent } = recordingQueue();

    await runSegment({ accounts: source, syncQueue: queue }, task(), plenty);

    expect(sent.map((m) => m.accountId)).toEqual(['acc-1']);
  });

  it('takes an account due exactly at the due-by instant', async () => {
    const { source } = pagedSource([[dueAccount(1, { dueAt: DUE_BY })]]);
    const { queue, sent } = recordingQueue();

    await runSegment({ accounts: source, syncQueue: queue }, task(), plenty);

    expect(sent).toHaveLength(1);
  });

  it('returns a continuation from the next page when time runs short', async () => {
    const { source, reads } = pagedSource([[dueAccount(1)], [dueAccount(2)], [dueAccount(3)]]);
    const { queue, sent } = recordingQueue();
    const remaining = [600_000, 10_000];

    const result = await runSegment({ accounts: source, syncQueue: queue }, task({ retries: 2 }), {
      remainingTimeMs: () => remaining.shift() ?? 0,
      minRemainingMs: 30_000,
    });

    expect(reads).toEqual([undefined, { page: 1 }]);
    expect(sent.map((m) => m.accountId)).toEqual(['acc-1', 'acc-2']);
    // A continuation starts afresh: the retry count belongs to a page, not to the task.
    expect(result.next).toEqual(task({ startKey: { page: 2 } }));
    expect(result.retryPage).toBe(false);
  });

  it('reads one page even when it starts with little time left', async () => {
    const { source, reads } = pagedSource([[dueAccount(1)], [dueAccount(2)]]);
    const { queue } = recordingQueue();

    const result = await runSegment({ accounts: source, syncQueue: queue }, task(), {
      remainingTimeMs: () => 1_000,
      minRemainingMs: 30_000,
    });

    expect(reads).toHaveLength(1);
    expect(result.next?.startKey).toEqual({ page: 1 });
  });

  it('asks for the same page again, counted, when some messages could not be queued', async () => {
    const { source, reads } = pagedSource([[dueAccount(1)], [dueAccount(2), dueAccount(3)], []]);
    const { queue } = recordingQueue(['acc-3']);

    const result = await runSegment(
      { accounts: source, syncQueue: queue },
      task({ retries: 1 }),
      plenty,
    );

    expect(reads).toEqual([undefined, { page: 1 }]);
    expect(result).toMatchObject({ enqueued: 2, failed: 1, retryPage: true });
    expect(result.next).toEqual(task({ startKey: { page: 1 }, retries: 2 }));
  });
});
