/**
 * What the benchmark and the chaos soak share: the engine settings the consumer runs with, the
 * passage of a day between two scheduled runs, and counts read off the simulator.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Account } from '../core/model';
import { DEFAULT_SYNC_CONFIG, type SyncConfig } from '../core/sync-engine';
import type { SyncSettings } from '../lib/settings';
import type { SimulatorStats } from '../local/momo-sim';
import { scanAll } from '../local/report';

const MINUTE_MS = 60_000;

/**
 * The engine configuration the sync consumer builds from its environment (the local profile's
 * `SYNC_*` variables), for code that runs the engine outside the consumer: the baseline loop.
 */
export function syncConfigOf(settings: SyncSettings): SyncConfig {
  return {
    ...DEFAULT_SYNC_CONFIG,
    overlapMs: settings.overlapMinutes * MINUTE_MS,
    firstSyncLookbackMs: settings.firstSyncLookbackDays * 24 * 60 * MINUTE_MS,
    leaseMs: settings.leaseSeconds * 1000,
    backoffBaseMs: settings.backoffBaseSeconds * 1000,
    backoffCapMs: settings.backoffCapSeconds * 1000,
    maxConsecutiveFailures: settings.maxConsecutiveFailures,
    defaultIntervalMinutes: settings.defaultIntervalMinutes,
    minIntervalMinutes: settings.minIntervalMinutes,
    maxIntervalMinutes: settings.maxIntervalMinutes,
    dueToleranceMs: settings.dueToleranceMinutes * MINUTE_MS,
  };
}

/**
 * A day passes: every account not waiting for a re-link is due again now. The handlers stamp
 * due times from the real clock, so a harness that cannot wait a day moves the due times back
 * instead. Returns how many accounts were made due.
 */
export async function makeAccountsDue(
  doc: DynamoDBDocumentClient,
  accountsTable: string,
  now: Date = new Date(),
): Promise<number> {
  const accounts = await scanAll<Account>(doc, accountsTable);
  let due = 0;
  for (const account of accounts) {
    if (account.syncStatus === 'auth_required') continue;
    await doc.send(
      new UpdateCommand({
        TableName: accountsTable,
        Key: { accountId: account.accountId },
        UpdateExpression: 'SET dueAt = :now',
        ConditionExpression: 'attribute_exists(accountId)',
        ExpressionAttributeValues: { ':now': now.toISOString() },
      }),
    );
    due += 1;
  }
  return due;
}

/** Provider requests of a stats snapshot, by what they cost. */
export interface ProviderCounts {
  /** Every request the simulator answered or dropped, tokens and 429s included. */
  requests: number;
  /** Token requests (exempt from the rate limit). */
  tokens: number;
  /** 429s of the rate limit's bucket (not the injected bursts). */
  throttled: number;
  /** Requests that took a token of the rate-limit bucket: the work the limit paces. */
  paced: number;
}

/** Reads the provider counts off the simulator's stats. */
export function providerCounts(stats: SimulatorStats): ProviderCounts {
  const requests = Object.values(stats.requests).reduce((sum, count) => sum + count, 0);
  const tokens = stats.requests.token;
  return {
    requests,
    tokens,
    throttled: stats.rateLimited,
    paced: requests - tokens - stats.requests.unknown - stats.rateLimited,
  };
}

/** Waits until the wall clock has entered a new second: two scheduler ticks need two run ids. */
export async function nextSecond(after: Date): Promise<void> {
  const wait = 1000 - (Date.now() % 1000);
  if (Math.floor(Date.now() / 1000) > Math.floor(after.getTime() / 1000)) return;
  await new Promise((resolve) => setTimeout(resolve, wait + 5));
}

/**
 * The consumer's maximum concurrency for a rate limit, as an operator would size it: each slot
 * syncs one account after another and so makes one provider call per account cycle (the
 * provider's latency plus our own work), so the slots that keep the limit busy are the limit
 * times the cycle, rounded up. The cycle is the naive loop's time per account on the same world.
 * Rounding up cannot overrun the limit: the stack spaces each slot's calls to its share of it.
 */
export function concurrencyFor(rateLimitPerSecond: number, cycleSeconds: number): number {
  return Math.max(2, Math.ceil(rateLimitPerSecond * cycleSeconds));
}
