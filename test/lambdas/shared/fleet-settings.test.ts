import { describe, expect, it } from 'vitest';
import type { FleetSettings } from '../../../adapters/dynamodb/fleet-settings';
import { cachedFleetInterval } from '../../../lambdas/shared/fleet-settings';

/** A settings source whose answers the test scripts, counting the reads. */
function sourceOf(...answers: (FleetSettings | Error)[]) {
  const source = {
    reads: 0,
    get: async (): Promise<FleetSettings> => {
      const answer = answers[Math.min(source.reads, answers.length - 1)];
      source.reads += 1;
      if (answer instanceof Error) throw answer;
      return answer ?? {};
    },
  };
  return source;
}

describe('cachedFleetInterval', () => {
  it('reads once per TTL however many syncs ask', async () => {
    // Arrange
    let now = 0;
    const source = sourceOf({ syncIntervalMinutes: 720 });
    const interval = cachedFleetInterval(source, { ttlMs: 1_000, now: () => now });

    // Act
    const answers = [await interval(), await interval()];
    now = 999;
    answers.push(await interval());

    // Assert
    expect(answers).toEqual([720, 720, 720]);
    expect(source.reads).toBe(1);
  });

  it('picks up a change once the TTL has passed', async () => {
    let now = 0;
    const source = sourceOf({ syncIntervalMinutes: 720 }, {});
    const interval = cachedFleetInterval(source, { ttlMs: 1_000, now: () => now });

    await interval();
    now = 1_000;

    expect(await interval()).toBeUndefined();
    expect(source.reads).toBe(2);
  });

  it('keeps the last known value when a read fails, and reports the error', async () => {
    let now = 0;
    const errors: unknown[] = [];
    const source = sourceOf({ syncIntervalMinutes: 360 }, new Error('throttled'));
    const interval = cachedFleetInterval(source, {
      ttlMs: 1_000,
      now: () => now,
      onError: (error) => errors.push(error),
    });

    await interval();
    now = 2_000;

    expect(await interval()).toBe(360);
    expect(errors).toHaveLength(1);
  });

  it('shares one read between syncs that ask at the same time', async () => {
    const source = sourceOf({ syncIntervalMinutes: 90 });
    const interval = cachedFleetInterval(source, { ttlMs: 1_000, now: () => 0 });

    const answers = await Promise.all([interval(), interval(), interval()]);

    expect(answers).toEqual([90, 90, 90]);
    expect(source.reads).toBe(1);
  });

  it.each([
    ['a fraction', 12.5],
    ['zero', 0],
    ['a negative number', -60],
    ['text', '720'],
  ])('ignores %s stored by hand', async (_label, stored) => {
    const source = sourceOf({ syncIntervalMinutes: stored as number });
    const interval = cachedFleetInterval(source, { ttlMs: 1_000, now: () => 0 });

    expect(await interval()).toBeUndefined();
  });
});
