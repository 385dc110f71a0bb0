/**
 * The naive baseline the benchmark holds the fleet against: the design this stack replaces, one
 * loop that syncs every account one after another. It runs the very same engine and adapters as
 * the consumer, on a fresh dynalite and a fresh simulator built from the same seed, so the only
 * difference from the fleet is the loop.
 */
import { DynamoAccountStore } from '../adapters/dynamodb/accounts';
import { createDocumentClient, createDynamoClient } from '../adapters/dynamodb/client';
import { DynamoSyncRunStore } from '../adapters/dynamodb/sync-runs';
import { DynamoTransactionStore } from '../adapters/dynamodb/transactions';
import { MomoClient } from '../adapters/momo/client';
import type { RelinkRequest } from '../core/model';
import { type Notifier, systemClock } from '../core/ports';
import { syncAccount } from '../core/sync-engine';
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  IDEMPOTENCY_TABLE,
  SYNC_RUNS_TABLE,
  TABLES,
  TRANSACTIONS_TABLE,
} from '../lib/resources';
import { seedDemo, worldClock } from '../local/demo';
import { createTables, startDynalite } from '../local/engines/dynamo';
import { LOCAL_PROFILE } from '../local/env';
import { startMomoSimulator } from '../local/momo-sim';
import { compareWithTruth, type TruthComparison } from '../local/report';
import type { LocalTables } from '../local/stack';
import { type ProviderCounts, providerCounts, syncConfigOf } from './world';

export interface WorldOptions {
  seed: string;
  /** The instant the world's history is generated at, so two runs get the same world. */
  epochMs: number;
  accounts: number;
  transactionsPerAccount: [number, number];
  latencyMs: number;
  rateLimitPerSecond: number;
}

export interface BaselineFigures {
  wallSeconds: number;
  /** Mean time of one account's sync in the loop. */
  secondsPerAccount: number;
  added: number;
  provider: ProviderCounts;
  truth: TruthComparison;
}

/** A notifier for a world whose links all work: a push request would be a bug of the run. */
class UnexpectedNotifier implements Notifier {
  requests: RelinkRequest[] = [];
  async requestRelink(request: RelinkRequest): Promise<void> {
    this.requests.push(request);
  }
}

const region = 'us-east-1';

const tables: LocalTables = {
  accounts: ACCOUNTS_TABLE.localName,
  transactions: TRANSACTIONS_TABLE.localName,
  syncRuns: SYNC_RUNS_TABLE.localName,
  control: CONTROL_TABLE.localName,
  idempotency: IDEMPOTENCY_TABLE.localName,
};

/** Seeds the world and syncs every account in one loop; resolves with what it took. */
export async function runBaseline(
  world: WorldOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<BaselineFigures> {
  const clock = worldClock({ seed: world.seed, epochMs: world.epochMs });
  const [dynamo, simulator] = await Promise.all([
    startDynalite(),
    startMomoSimulator({
      apiUser: 'baseline-user',
      apiKey: 'baseline-key',
      subscriptionKey: 'baseline-subscription',
      seed: world.seed,
      clock: clock.clock,
      latencyMs: world.latencyMs,
      rateLimitPerSecond: world.rateLimitPerSecond,
    }),
  ]);
  const admin = createDynamoClient({ endpoint: dynamo.endpoint, region });
  const doc = createDocumentClient({ endpoint: dynamo.endpoint, region });
  try {
    await createTables(admin, TABLES);
    const seeded = await seedDemo(
      simulator,
      doc,
      tables.accounts,
      world.accounts,
      new Date(),
      world.transactionsPerAccount,
      0,
    );
    clock.unfreeze();
    const notifier = new UnexpectedNotifier();
    const deps = {
      accounts: new DynamoAccountStore(doc, tables.accounts),
      transactions: new DynamoTransactionStore(doc, tables.transactions),
      runs: new DynamoSyncRunStore(doc, tables.syncRuns, LOCAL_PROFILE.sync.syncRunTtlDays),
      provider: new MomoClient({
        baseUrl: simulator.url,
        targetEnvironment: simulator.credentials.targetEnvironment,
        apiUser: simulator.credentials.apiUser,
        apiKey: simulator.credentials.apiKey,
        subscriptionKey: simulator.credentials.subscriptionKey,
      }),
      notifier,
      clock: systemClock,
    };
    const config = syncConfigOf(LOCAL_PROFILE.sync);
    const runId = `baseline-${new Date().toISOString()}`;
    simulator.resetStats();
    let added = 0;
    const started = performance.now();
    for (const [index, account] of seeded.entries()) {
      const deadline = Date.now() + LOCAL_PROFILE.consumer.timeoutSeconds * 1000;
      const result = await syncAccount(
        deps,
        {
          accountId: account.accountId,
          trigger: 'schedule',
          runId,
          leaseOwner: `${runId}:${account.accountId}`,
          remainingTimeMs: () => deadline - Date.now(),
        },
        config,
      );
      if (result.outcome !== 'synced') {
        throw new Error(`baseline sync of ${account.accountId} ended ${result.outcome}`);
      }
      added += result.counts.added;
      onProgress?.(index + 1, seeded.length);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    if (notifier.requests.length > 0) throw new Error('the baseline asked for a re-link push');
    return {
      wallSeconds,
      secondsPerAccount: wallSeconds / seeded.length,
      added,
      provider: providerCounts(simulator.stats()),
      truth: await compareWithTruth({ doc, simulator, tables }),
    };
  } finally {
    admin.destroy();
    doc.destroy();
    await Promise.all([simulator.close(), dynamo.close()]);
  }
}
