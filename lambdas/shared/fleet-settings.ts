/**
 * The fleet's sync-interval override as the consumer sees it: read from the control table at
 * most once per `ttlMs` per container, so a batch of ten syncs costs no extra read and a change
 * made with `npm run ops -- frequency --fleet` reaches every container within the TTL.
 */
import type { FleetSettings } from '../../adapters/dynamodb/fleet-settings';

/** Where the settings come from (the DynamoDB store, or a fake in tests). */
export interface FleetSettingsSource {
  get(): Promise<FleetSettings>;
}

export interface CachedFleetIntervalOptions {
  /** How long a read value is trusted. */
  ttlMs: number;
  /** Epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /** Called when a read fails; the last known value (or none) stands until the next TTL. */
  onError?: (error: unknown) => void;
}

/** Default TTL: an operator's change shows within a few minutes, at one read per container. */
export const FLEET_SETTINGS_TTL_MS = 5 * 60_000;

/** A reader of the fleet interval (minutes, or undefined when no override is set). */
export function cachedFleetInterval(
  source: FleetSettingsSource,
  options: CachedFleetIntervalOptions,
): () => Promise<number | undefined> {
  const now = options.now ?? Date.now;
  let value: number | undefined;
  let freshUntil = Number.NEGATIVE_INFINITY;
  let pending: Promise<number | undefined> | undefined;

  const refresh = async (): Promise<number | undefined> => {
    try {
      const settings = await source.get();
      const minutes = settings.syncIntervalMinutes;
      // A hand-edited item with a bad value must not stop the fleet: ignore it.
      value = Number.isInteger(minutes) && (minutes as number) > 0 ? minutes : undefined;
    } catch (error) {
      options.onError?.(error);
    }
    // A failed read waits out a TTL too, so a throttled table is not read once per record.
    freshUntil = now() + options.ttlMs;
    return value;
  };

  return () => {
    if (now() < freshUntil) return Promise.resolve(value);
    pending ??= refresh().finally(() => {
      pending = undefined;
    });
    return pending;
  };
}
