/**
 * The small pure rules the sync engine is built from: the fetch window, the content fingerprint,
 * the backoff and the next due time. Each is a function of its inputs only, so the tables in
 * test/core/rules.test.ts pin them down exactly.
 */
import { createHash } from 'node:crypto';
import type { Account, ProviderTransaction } from './model';

const MINUTE_MS = 60_000;

export interface WindowConfig {
  /** How far before the cursor each sync starts again, for late postings and clock drift. */
  overlapMs: number;
  /** How far back the first sync of a new account goes. */
  firstSyncLookbackMs: number;
}

export interface FetchWindow {
  from: string;
  to: string;
  /** True when the account has no cursor yet. */
  firstSync: boolean;
}

/**
 * The window of provider `updatedAt` times to fetch: from the cursor minus the overlap (or the
 * look-back for a first sync) up to now. A cursor in the future (our clock went back) is clamped
 * so that the window never inverts.
 */
export function fetchWindow(
  cursor: string | undefined,
  now: Date,
  config: WindowConfig,
): FetchWindow {
  const to = now.getTime();
  if (cursor === undefined) {
    return {
      from: new Date(to - config.firstSyncLookbackMs).toISOString(),
      to: now.toISOString(),
      firstSync: true,
    };
  }
  const start = Math.min(Date.parse(cursor), to) - config.overlapMs;
  return { from: new Date(start).toISOString(), to: now.toISOString(), firstSync: false };
}

/** The cursor after a page: never moves backwards, whatever order a retried page comes in. */
export function advanceCursor(cursor: string | undefined, pageMaxUpdatedAt: string | undefined) {
  if (pageMaxUpdatedAt === undefined) return cursor;
  if (cursor === undefined) return pageMaxUpdatedAt;
  return Date.parse(pageMaxUpdatedAt) > Date.parse(cursor) ? pageMaxUpdatedAt : cursor;
}

/**
 * A short hash of the fields a user can see change. `updatedAt` is left out on purpose: a
 * provider touching a row without changing it must not cost a write.
 */
export function fingerprint(tx: ProviderTransaction): string {
  const content = [
    tx.status,
    tx.amountMinor,
    tx.currency,
    tx.direction,
    tx.externalId ?? '',
    tx.counterparty ?? '',
    tx.description ?? '',
    tx.createdAt,
  ].join('\u001f');
  // 64 bits are plenty to tell two versions of one transaction apart, and keep items small.
  return createHash('sha256').update(content).digest('hex').slice(0, 16);
}

export interface BackoffConfig {
  backoffBaseMs: number;
  backoffCapMs: number;
}

/**
 * Capped exponential backoff with full jitter: a uniform delay in [0, min(cap, base * 2^n)).
 * Full jitter spreads a fleet that failed together (a provider outage) instead of retrying it
 * in lockstep. `failures` counts the failures so far, this one included (1 for the first).
 */
export function backoffDelayMs(failures: number, config: BackoffConfig, random: () => number) {
  const exponent = Math.max(0, failures - 1);
  const ceiling = Math.min(config.backoffCapMs, config.backoffBaseMs * 2 ** Math.min(exponent, 30));
  // Never zero: a zero delay would hand the message straight back to a failing provider.
  return Math.max(1_000, Math.floor(random() * ceiling));
}

export interface FrequencyConfig {
  /** The interval of an account with no override and ordinary activity. */
  defaultIntervalMinutes: number;
  /** Bounds for both overrides and the adaptive rule. */
  minIntervalMinutes: number;
  maxIntervalMinutes: number;
  /** Whether quiet accounts sync less often and busy ones more often. */
  adaptive: boolean;
  /** A fleet-wide override set by operators; an account's own override wins over it. */
  fleetIntervalMinutes?: number;
}

/** Weight of the latest sync in the activity score (an exponential moving average). */
export const ACTIVITY_ALPHA = 0.3;

/** The activity score after a sync that saw `changes` new or changed transactions. */
export function nextActivityScore(previous: number | undefined, changes: number): number {
  const score = previous === undefined ? changes : previous + ACTIVITY_ALPHA * (changes - previous);
  return Math.round(score * 1000) / 1000;
}

/**
 * The interval until the next sync. An explicit override (the account's, else the fleet's)
 * wins; otherwise, when adaptive, an account that averaged under 0.1 changes per sync waits
 * twice the default, under 0.5 one and a half times, one with 10 or more changes per sync half of
 * it; always clamped to the bounds.
 */
export function syncIntervalMinutes(
  account: Pick<Account, 'syncIntervalMinutes' | 'activityScore'>,
  config: FrequencyConfig,
): number {
  const clamp = (minutes: number) =>
    Math.min(config.maxIntervalMinutes, Math.max(config.minIntervalMinutes, minutes));
  const override = account.syncIntervalMinutes ?? config.fleetIntervalMinutes;
  if (override !== undefined) return clamp(override);
  if (!config.adaptive || account.activityScore === undefined) {
    return clamp(config.defaultIntervalMinutes);
  }
  const score = account.activityScore;
  let factor = 1;
  if (score < 0.1) factor = 2;
  else if (score < 0.5) factor = 1.5;
  else if (score >= 10) factor = 0.5;
  return clamp(Math.round(config.defaultIntervalMinutes * factor));
}

/** When the account is next due, counted from the start of the sync that just finished. */
export function nextDueAt(startedAt: Date, intervalMinutes: number): string {
  return new Date(startedAt.getTime() + intervalMinutes * MINUTE_MS).toISOString();
}
