/**
 * The fleet side of the benchmark: the local stack with the real handlers, one scheduled run over
 * a fresh world (every transaction new), then a second run over the same fleet with nothing new
 * (every account up to date), each measured on its own from the scheduler's tick to drained
 * queues. Costs are counted at the adapters: the handlers' DynamoDB capacity through the
 * process-wide counter, SQS requests at the engine and the pollers, provider calls at the
 * simulator.
 */
import { CAPACITY_METER_ENV, processCapacity } from '../adapters/dynamodb/client';
import { DEMO_USERS, seedDemo, worldClock } from '../local/demo';
import { FUNCTION_NAMES } from '../local/env';
import {
  checkInvariants,
  compareWithTruth,
  type InvariantResult,
  type RunScope,
  type SyncSummary,
  summarize,
  type TruthComparison,
} from '../local/report';
import { type LocalStack, startLocalStack } from '../local/stack';
import type { WorldOptions } from './baseline';
import { makeAccountsDue, nextSecond, type ProviderCounts, providerCounts } from './world';

export interface FleetOptions extends WorldOptions {
  /** Consumer batches handled at once (the event source's maximum concurrency). */
  concurrency: number;
  onProgress?: (message: string) => void;
}

/** Write units of a round by table role; refused conditional writes are billed too. */
export interface WriteUnits {
  total: number;
  transactions: number;
  accounts: number;
  syncRuns: number;
  other: number;
  conditionalFailures: number;
}

export interface RoundFigures {
  wallSeconds: number;
  accounts: number;
  summary: SyncSummary;
  provider: ProviderCounts;
  writeUnits: WriteUnits;
  readUnits: number;
  sqsRequests: number;
  /** The SQS work requests by operation (pollers' non-empty receives as `ReceiveMessage`). */
  sqsByOperation: Record<string, number>;
  /** Most consumer batches seen running at once so far (the pollers count from their start). */
  peakConcurrency: number;
}

export interface FleetFigures {
  first: RoundFigures;
  upToDate: RoundFigures;
  truth: TruthComparison;
  invariants: InvariantResult[];
}

/** Runs the two scheduled runs through the local stack; one call per process. */
export async function runFleet(options: FleetOptions): Promise<FleetFigures> {
  // Before the handlers load: their document clients then report to processCapacity.
  process.env[CAPACITY_METER_ENV] = '1';
  const clock = worldClock({ seed: options.seed, epochMs: options.epochMs });
  const stack = await startLocalStack({
    logLevel: 'SILENT',
    simulator: {
      seed: options.seed,
      clock: clock.clock,
      latencyMs: options.latencyMs,
      rateLimitPerSecond: options.rateLimitPerSecond,
    },
    consumer: { maximumConcurrency: options.concurrency },
  });
  try {
    const seeded = await seedDemo(
      stack.simulator,
      stack.doc,
      stack.tables.accounts,
      options.accounts,
      new Date(),
      options.transactionsPerAccount,
      0,
    );
    clock.unfreeze();
    for (const user of DEMO_USERS) stack.oneSignal.addDevice(user);
    const dueAccountIds = seeded.map((account) => account.accountId);

    options.onProgress?.('fleet: first run, every transaction new');
    const first = await measureRound(stack, dueAccountIds);

    await makeAccountsDue(stack.doc, stack.tables.accounts);
    await nextSecond(new Date());
    options.onProgress?.('fleet: second run, every account up to date');
    const upToDate = await measureRound(stack, dueAccountIds);

    const sources = reportSources(stack);
    const scope = {
      runId: 'bench',
      since: new Date(0).toISOString(),
      dueAccountIds: dueAccountIds,
    };
    return {
      first,
      upToDate,
      truth: await compareWithTruth(sources),
      invariants: await checkInvariants(sources, scope),
    };
  } finally {
    await stack.close();
  }
}

function reportSources(stack: LocalStack) {
  return {
    doc: stack.doc,
    sqs: stack.sqs,
    tables: stack.tables,
    queues: stack.queues,
    simulator: stack.simulator,
    oneSignal: stack.oneSignal,
    sqsRequests: () => stack.sqsWorkRequests(),
  };
}

/** One scheduled run, from tick to drained, with its costs counted from zero. */
async function measureRound(stack: LocalStack, dueAccountIds: string[]): Promise<RoundFigures> {
  processCapacity.reset();
  stack.simulator.resetStats();
  const sqsBefore = stack.sqsWorkRequests();
  const byOperationBefore = stack.sqsWorkByOperation();
  const tickAt = new Date();
  const started = performance.now();
  const tick = await stack.tick(tickAt);
  await stack.drain({ timeoutMs: 15 * 60_000 });
  const wallSeconds = (performance.now() - started) / 1000;
  const sqsRequests = stack.sqsWorkRequests() - sqsBefore;
  const byOperation = stack.sqsWorkByOperation();
  for (const [operation, count] of Object.entries(byOperationBefore)) {
    byOperation[operation] = (byOperation[operation] ?? 0) - count;
  }
  const provider = providerCounts(stack.simulator.stats());
  const snapshot = processCapacity.snapshot();
  const scope: RunScope = {
    runId: `schedule-${tick.scheduledTime}`,
    since: tickAt.toISOString(),
    dueAccountIds,
  };
  const summary = await summarize(reportSources(stack), scope);
  const tableUnits = (name: string) => snapshot.tables[name]?.writeUnits ?? 0;
  const conditionalFailures = Object.values(snapshot.tables).reduce(
    (sum, usage) => sum + usage.conditionalFailures,
    0,
  );
  const total =
    Object.values(snapshot.tables).reduce((sum, usage) => sum + usage.writeUnits, 0) +
    conditionalFailures;
  const transactions =
    tableUnits(stack.tables.transactions) +
    (snapshot.tables[stack.tables.transactions]?.conditionalFailures ?? 0);
  const accounts = tableUnits(stack.tables.accounts);
  const syncRuns = tableUnits(stack.tables.syncRuns);
  return {
    wallSeconds,
    accounts: dueAccountIds.length,
    summary,
    provider,
    writeUnits: {
      total,
      transactions,
      accounts,
      syncRuns,
      other: total - transactions - accounts - syncRuns,
      conditionalFailures,
    },
    readUnits: Object.values(snapshot.tables).reduce((sum, usage) => sum + usage.readUnits, 0),
    sqsRequests,
    sqsByOperation: byOperation,
    peakConcurrency: consumerPeak(stack),
  };
}

function consumerPeak(stack: LocalStack): number {
  return Math.max(
    0,
    ...stack.pollers
      .filter((poller) => poller.functionName === FUNCTION_NAMES.syncAccount)
      .map((poller) => poller.stats().peakConcurrency),
  );
}
