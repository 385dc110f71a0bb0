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
  /** A fleet-wide override set by operators; an operator's override of one account wins over it. */
  fleetIntervalMinutes?: number;
}

/** Weight of the latest sync in the activity score (an exponential moving average). */
export const ACTIVITY_ALPHA = 0.3;

/** The activity score after a sync that saw `changes` new or changed transactions. */
export function nextActivityScore(previous: number | undefined, changes: number): number {
  const score = previous === undefined ? changes : previous + ACTIVITY_ALPHA * (changes - previous);
  return Math.round(score * 1000) / 1000;
}

/** Which rule decided an account's interval, most specific first. */
export type IntervalSource =
  | 'operator override'
  | 'fleet override'
  | 'owner setting'
  | 'adaptive'
  | 'default';

/**
 * The interval until the next sync and the rule that gave it. Operators steer first (their
 * override of the account, else of the fleet), then the owner's own setting; otherwise, when
 * adaptive, an account that averaged under 0.1 changes per sync waits twice the default, under
 * 0.5 one and a half times, one with 10 or more changes per sync half of it. Always clamped to
 * the bounds.
 */
export function intervalRule(
  account: Pick<Account, 'syncIntervalMinutes' | 'operatorIntervalMinutes' | 'activityScore'>,
  config: FrequencyConfig,
): { minutes: number; source: IntervalSource } {
  const clamp = (minutes: number) =>
    Math.min(config.maxIntervalMinutes, Math.max(config.minIntervalMinutes, minutes));
  const explicit: [number | undefined, IntervalSource][] = [
    [account.operatorIntervalMinutes, 'operator override'],
    [config.fleetIntervalMinutes, 'fleet override'],
    [account.syncIntervalMinutes, 'owner setting'],
  ];
  for (const [minutes, source] of explicit) {
    if (minutes !== undefined) return { minutes: clamp(minutes), source };
  }
  if (!config.adaptive || account.activityScore === undefined) {
    return { minutes: clamp(config.defaultIntervalMinutes), source: 'default' };
  }
  const score = account.activityScore;
  let factor = 1;
  if (score < 0.1) factor = 2;
  else if (score < 0.5) factor = 1.5;
  else if (score >= 10) factor = 0.5;
  return { minutes: clamp(Math.round(config.defaultIntervalMinutes * factor)), source: 'adaptive' };
}

/** The interval until the next sync: {@link intervalRule} without its reason. */
export function syncIntervalMinutes(
  account: Pick<Account, 'syncIntervalMinutes' | 'operatorIntervalMinutes' | 'activityScore'>,
  config: FrequencyConfig,
): number {
  return intervalRule(account, config).minutes;
}

/** When the account is next due, counted from the start of the sync that just finished. */
export function nextDueAt(startedAt: Date, intervalMinutes: number): string {
  return new Date(startedAt.getTime() + intervalMinutes * MINUTE_MS).toISOString();
}
