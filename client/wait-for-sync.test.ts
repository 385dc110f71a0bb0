import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from './errors';
import type { Page, SyncRequest, SyncRun } from './types';
import { answersRequest, waitForSync } from './wait-for-sync';

const REQUESTED_AT = '2026-03-02T12:00:00.000Z';

function run(overrides: Partial<SyncRun> = {}): SyncRun {
  return {
    run_id: 'run-old',
    trigger: 'schedule',
    outcome: 'synced',
    started_at: '2026-03-02T06:00:00.000Z',
    finished_at: '2026-03-02T06:00:02.000Z',
    duration_ms: 2_000,
    counts: { added: 0, updated: 0, unchanged: 3, removed: 0 },
    error_code: null,
    ...overrides,
  };
}

function request(overrides: Partial<SyncRequest> = {}): SyncRequest {
  return {
    account_id: 'acc-1',
    status: 'queued',
    run_id: 'run-mine',
    trigger: 'manual',
    requested_at: REQUESTED_AT,
    ...overrides,
  };
}

/** Answers each poll from a script of pages (or failures), and a clock the sleeps move. */
function pollScript(script: (Page<SyncRun> | Error)[]) {
  let clock = Date.parse(REQUESTED_AT);
  const sleeps: number[] = [];
  const source = {
    polls: 0,
    async listSyncRuns() {
      source.polls += 1;
      const next = script.shift() ?? { items: [], next_cursor: null };
      if (next instanceof Error) throw next;
      return next;
    },
  };
  const options = {
    now: () => clock,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      clock += ms;
    },
  };
  return { source, options, sleeps };
}

const page = (...items: SyncRun[]) => ({ items, next_cursor: null });

describe('waitForSync', () => {
  it('polls with growing pauses until the queued run is recorded', async () => {
    const mine = run({ run_id: 'run-mine', started_at: '2026-03-02T12:00:03.000Z' });
    const { source, options, sleeps } = pollScript([page(run()), page(run()), page(mine, run())]);

    const result = await waitForSync(source, request(), options);

    expect(result).toEqual({ status: 'finished', run: mine });
    expect(sleeps).toEqual([1000, 1600]);
  });

  it('keeps waiting through a moment offline', async () => {
    const mine = run({ run_id: 'run-mine' });
    const { source, options } = pollScript([new NetworkError('offline'), page(mine)]);

    const result = await waitForSync(source, request(), options);

    expect(result).toEqual({ status: 'finished', run: mine });
  });

  it('stops on an error the API will repeat', async () => {
    const { source, options } = pollScript([new ApiError(404, 'not_found', 'No such account.')]);

    await expect(waitForSync(source, request(), options)).rejects.toMatchObject({ status: 404 });
  });

  it('times out with the pauses capped and the last one cut to the time left', async () => {
    const { source, options, sleeps } = pollScript([]);

    const result = await waitForSync(source, request(), {
      ...options,
      timeoutMs: 30_000,
      maxDelayMs: 8_000,
    });

    expect(result).toEqual({ status: 'timed_out' });
    expect(sleeps).toEqual([1000, 1600, 2560, 4096, 6554, 8000, 6190]);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { source, options } = pollScript([]);

    const result = await waitForSync(source, request(), { ...options, signal: controller.signal });

    expect(result).toEqual({ status: 'aborted' });
    expect(source.polls).toBe(0);
  });
});

describe('answersRequest', () => {
  it.each([
    ['its own run', request(), run({ run_id: 'run-mine' }), true],
    [
      'a run of another trigger that started after the request',
      request(),
      run({ started_at: '2026-03-02T12:00:01.000Z', finished_at: '2026-03-02T12:00:04.000Z' }),
      true,
    ],
    [
      'a run that started before the request',
      request(),
      run({ started_at: '2026-03-02T11:59:59.000Z', finished_at: '2026-03-02T12:00:04.000Z' }),
      false,
    ],
    [
      'the running sync finishing after the request',
      request({ status: 'running', run_id: null, trigger: null }),
      run({ started_at: '2026-03-02T11:59:00.000Z', finished_at: '2026-03-02T12:00:04.000Z' }),
      true,
    ],
    [
      'a run that ended before a running request',
      request({ status: 'running', run_id: null, trigger: null }),
      run(),
      false,
    ],
  ])('for a %s: %s', (_name, req, candidate, expected) => {
    expect(answersRequest(candidate, req)).toBe(expected);
  });
});
