/**
 * The chaos soak: the local stack with the real handlers, run through rounds in which the world
 * changes and every fault of a scenario is on, then healed (faults off, the DLQs redriven, one
 * more scheduled run), then held against the invariants of ARCHITECTURE.md with the simulator's
 * own truth as the judge. `npm run chaos` is its command line.
 *
 * A round: links break (accountAuthFailureRate), the world moves on (new transactions, status
 * changes, late arrivals, removals; wallets with a broken link stand still, as an aggregator
 * stops seeing them), a day passes (every account due again), the scheduler ticks, some owners
 * ask for a sync of their own, and the stack drains, faults and killed consumers included.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoCircuitStore } from '../adapters/dynamodb/circuit';
import { SqsSyncQueue } from '../adapters/sqs/sync-queue';
import type { Account, SyncRun } from '../core/model';
import { FANOUT_QUEUE, QUEUES } from '../lib/resources';
import { DEMO_USERS, type DemoAccount, seedDemo } from '../local/demo';
import { isEmpty, queueDepth } from '../local/engines/sqs';
import { LOCAL_PROFILE } from '../local/env';
import { createRandom, type Random } from '../local/momo-sim/random';
import {
  checkInvariants,
  compareWithTruth,
  type InvariantResult,
  type ReportSources,
  scanAll,
} from '../local/report';
import type { Scenario } from '../local/scenario';
import { type LocalStack, startLocalStack } from '../local/stack';
import { redrive } from '../ops/commands/redrive';
import { ConsumerKiller, type Kill } from './crash';
import { concurrencyFor, makeAccountsDue, nextSecond } from './world';

/** The figures of a soak; `npm run chaos -- --json` prints them as its last line. */
export interface SoakJson {
  accounts: number;
  rounds: number;
  transactions_expected: number;
  transactions_stored: number;
  lost: number;
  duplicated: number;
  stale_status: number;
  unknown_transactions: number;
  /** Accounts with a working link that the final run did not sync. */
  unsynced_accounts: number;
  auth_required_accounts: number;
  /** Wallets whose link the soak broke. */
  broken_links: number;
  /** auth_required accounts whose link works, and broken links whose account is not. */
  wrong_auth_required: number;
  notifications_sent: number;
  duplicate_notifications: number;
  dlq_messages_redriven: number;
  dlq_messages_left: number;
  messages_left: number;
  leases_left: number;
  circuit_opened: boolean;
  consumer_kills: number;
  manual_syncs: number;
  /** Faults the simulator injected, by kind, and the 429s of its rate limit. */
  faults_injected: Record<string, number>;
  provider_requests: number;
  sync_attempts: number;
  handler_errors: number;
  log_lines: number;
  /** Handler log lines holding a credential, a phone number, a token or a provider payload. */
  leaky_log_lines: number;
  wall_s: number;
  ok: boolean;
}

export interface SoakResult {
  json: SoakJson;
  invariants: InvariantResult[];
}

export interface SoakOptions {
  /** Powertools log level of the handlers; their lines are scanned for leaks, not printed. */
  logLevel?: string;
  onProgress?: (message: string) => void;
}

/** How long one drain may take before the soak is declared stuck. */
const DRAIN_TIMEOUT_MS = 20 * 60_000;

/**
 * How long a round keeps our credentials refused once the circuit has opened: two of the local
 * profile's first open periods, so held messages come back, meet the circuit and are held again.
 */
const OUTAGE_HOLD_MS = 2 * LOCAL_PROFILE.circuit.openSeconds * 1000;

/**
 * Waits until the provider circuit has opened and the fan-out has queued what it will, then
 * keeps the outage on for {@link OUTAGE_HOLD_MS}; the healing afterwards drains the held fleet.
 */
async function holdWhileCircuitOpen(stack: LocalStack, circuit: DynamoCircuitStore) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  const fanOut = stack.queues[FANOUT_QUEUE.name];
  for (;;) {
    const opened = (await circuit.read()).version > 0;
    const fanOutDone = !fanOut || isEmpty(await queueDepth(stack.sqs, fanOut.url));
    if (opened && fanOutDone) break;
    if (Date.now() > deadline) throw new Error('the provider circuit did not open in time');
    await sleep(100);
  }
  await sleep(OUTAGE_HOLD_MS);
}

/** Runs a scenario from start to verdict; one call per process (one local stack). */
export async function runSoak(scenario: Scenario, options: SoakOptions = {}): Promise<SoakResult> {
  const began = performance.now();
  const say = options.onProgress ?? (() => {});
  const random = createRandom(scenario.seed, 'chaos');
  const logs = captureHandlerLogs();
  const killer = new ConsumerKiller(createRandom(scenario.seed, 'kills'));
  let handlerErrors = 0;
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      logLevel: options.logLevel ?? 'INFO',
      simulator: {
        seed: String(scenario.seed),
        latencyMs: scenario.latencyMs,
        rateLimitPerSecond: scenario.rateLimitPerSecond,
        pageSize: scenario.pageSize,
      },
      consumer: { maximumConcurrency: soakConcurrency(scenario) },
      wrapSyncHandler: killer.wrap,
      onError: () => {
        handlerErrors += 1;
      },
    });
  } catch (error) {
    logs.stop();
    throw error;
  }
  try {
    killer.attach(stack);
    const seeded = await seedDemo(
      stack.simulator,
      stack.doc,
      stack.tables.accounts,
      scenario.accounts,
      new Date(),
      scenario.transactionsPerAccount,
      0,
    );
    for (const user of DEMO_USERS) stack.oneSignal.addDevice(user);
    const world = new WorldLog(stack, seeded);
    const circuit = new DynamoCircuitStore(stack.doc, stack.tables.control);
    const manualQueue = new SqsSyncQueue(stack.sqs, stack.queues.manual?.url ?? '');
    const { faults } = scenario;
    let circuitOpened = false;
    let manualSyncs = 0;
    let lastTick = new Date(0);

    for (let round = 1; round <= scenario.rounds; round += 1) {
      const roundBegan = performance.now();
      stack.simulator.setFaults({
        serverErrorRate: faults.serverErrorRate,
        timeoutRate: faults.timeoutRate,
        rateLimitBurstRate: faults.rateLimitBurstRate,
        duplicateAcrossPagesRate: faults.duplicateAcrossPagesRate,
      });
      stack.simulator.setPlatformAuthFailure(faults.platformAuthFailure);
      killer.rate = faults.consumerCrashRate;
      const broken = world.breakLinks(random, faults.accountAuthFailureRate);
      const changed = world.advance({
        newTransactions: scenario.newTransactionsPerRound,
        statusChangeRate: faults.statusChangeRate,
        lateArrivalRate: faults.lateArrivalRate,
        removalRate: faults.removalRate,
      });
      if (round > 1) await makeAccountsDue(stack.doc, stack.tables.accounts);
      await nextSecond(lastTick);
      lastTick = new Date();
      await stack.tick(lastTick);
      const manual = seeded.filter(() => random.chance(scenario.manualSyncRate));
      if (manual.length > 0) {
        await manualQueue.enqueue(
          manual.map((account) => ({
            accountId: account.accountId,
            trigger: 'manual' as const,
            runId: `chaos-manual-${round}`,
          })),
        );
        manualSyncs += manual.length;
      }
      // While our credentials are refused the consumers hold every message for the circuit (a
      // held one never reaches a DLQ), so such a round ends once the fleet is held, not drained.
      if (faults.platformAuthFailure) await holdWhileCircuitOpen(stack, circuit);
      else await stack.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
      circuitOpened ||= (await circuit.read()).version > 0;
      say(
        `round ${round}/${scenario.rounds}: ${broken} links broken, ${changed.created} new, ` +
          `${changed.statusChanged} settled, ${changed.lateArrivals} late, ` +
          `${changed.removed} removed, ${manual.length} manual syncs; ` +
          `${faults.platformAuthFailure ? 'held by the circuit' : 'drained'} in ` +
          `${((performance.now() - roundBegan) / 1000).toFixed(1)} s`,
      );
    }

    // Healing: the provider behaves, our credentials are fixed, nobody is killed any more; the
    // broken links stay broken, their accounts must stay auth_required.
    stack.simulator.resetFaults();
    stack.simulator.setPlatformAuthFailure(false);
    killer.rate = 0;
    let redriven = 0;
    for (const def of QUEUES) {
      const queue = stack.queues[def.name];
      if (!queue) continue;
      const moved = await redrive(stack.sqs, queue, {
        dryRun: false,
        max: Number.MAX_SAFE_INTEGER,
        waitSeconds: 0,
      });
      redriven += moved.moved;
    }
    await stack.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
    say(`healed: faults off, ${redriven} dead letters redriven`);

    await makeAccountsDue(stack.doc, stack.tables.accounts);
    await nextSecond(lastTick);
    const finalTick = new Date();
    const dueAccountIds = (await scanAll<Account>(stack.doc, stack.tables.accounts))
      .filter((account) => account.syncStatus !== 'auth_required')
      .map((account) => account.accountId);
    await stack.tick(finalTick);
    await stack.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
    circuitOpened ||= (await circuit.read()).version > 0;
    say('final round drained');

    return await verdict({
      stack,
      scenario,
      world,
      finalTick,
      dueAccountIds,
      circuitOpened,
      redriven,
      manualSyncs,
      kills: killer.kills,
      handlerErrors,
      logs,
      wallSeconds: (performance.now() - began) / 1000,
    });
  } finally {
    await stack.close();
    logs.stop();
  }
}

/** The consumer's concurrency: sized to the rate limit when there is one, else the profile's. */
function soakConcurrency(scenario: Scenario): number {
  if (scenario.rateLimitPerSecond <= 0) return LOCAL_PROFILE.consumer.maximumConcurrency;
  // A sync's cycle is about the provider's latency plus our own work (a few tens of ms here).
  return concurrencyFor(scenario.rateLimitPerSecond, (scenario.latencyMs + 50) / 1000);
}

/**
 * What the soak did to the world: which links it broke and when each transaction first
 * appeared, so the verdict does not expect of an account what appeared after its last sync.
 */
class WorldLog {
  readonly brokenLinks = new Set<string>();
  private readonly inserted = new Map<string, string>();
  private readonly known = new Map<string, Set<string>>();

  constructor(
    private readonly stack: LocalStack,
    private readonly accounts: DemoAccount[],
  ) {
    for (const account of accounts) this.known.set(account.walletId, this.refs(account.walletId));
  }

  /** Breaks each working link with the given chance, alternately revoked and expired. */
  breakLinks(random: Random, rate: number): number {
    let broken = 0;
    for (const account of this.accounts) {
      if (this.brokenLinks.has(account.walletId) || !random.chance(rate)) continue;
      const reason = this.brokenLinks.size % 2 === 0 ? 'revoked' : 'expired';
      this.stack.simulator.revokeLink(account.walletId, reason);
      this.brokenLinks.add(account.walletId);
      broken += 1;
    }
    return broken;
  }

  /** One round of the world's evolution for the wallets whose link works. */
  advance(options: Parameters<LocalStack['simulator']['advance']>[0]) {
    const walletIds = this.accounts
      .map((account) => account.walletId)
      .filter((walletId) => !this.brokenLinks.has(walletId));
    const summary = this.stack.simulator.advance({ ...options, walletIds });
    const now = new Date().toISOString();
    for (const walletId of walletIds) {
      const seen = this.known.get(walletId) ?? new Set<string>();
      for (const ref of this.refs(walletId)) {
        if (seen.has(ref)) continue;
        seen.add(ref);
        this.inserted.set(`${walletId}#${ref}`, now);
      }
      this.known.set(walletId, seen);
    }
    return summary;
  }

  insertedAt = (walletId: string, ref: string): string | undefined =>
    this.inserted.get(`${walletId}#${ref}`);

  private refs(walletId: string): Set<string> {
    return new Set(
      this.stack.simulator
        .truth(walletId)
        .transactions.map((transaction) => transaction.financialTransactionId),
    );
  }
}

interface VerdictInput {
  stack: LocalStack;
  scenario: Scenario;
  world: WorldLog;
  finalTick: Date;
  dueAccountIds: string[];
  circuitOpened: boolean;
  redriven: number;
  manualSyncs: number;
  kills: Kill[];
  handlerErrors: number;
  logs: LogCapture;
  wallSeconds: number;
}

/** Reads the outcome back from the tables, queues, stub and simulator, and judges it. */
async function verdict(input: VerdictInput): Promise<SoakResult> {
  const { stack, scenario, world } = input;
  const sources: ReportSources = {
    doc: stack.doc,
    sqs: stack.sqs,
    tables: stack.tables,
    queues: stack.queues,
    simulator: stack.simulator,
    oneSignal: stack.oneSignal,
    insertedAt: world.insertedAt,
  };
  const accounts = await scanAll<Account>(stack.doc, stack.tables.accounts);
  const truth = await compareWithTruth(sources, accounts);
  const since = input.finalTick.toISOString();
  const reported = await checkInvariants(sources, {
    runId: 'chaos-final',
    since,
    dueAccountIds: input.dueAccountIds,
  });

  const authRequired = accounts.filter((account) => account.syncStatus === 'auth_required');
  const wrongAuthRequired =
    authRequired.filter((account) => !world.brokenLinks.has(account.walletId)).length +
    accounts.filter(
      (account) =>
        world.brokenLinks.has(account.walletId) && account.syncStatus !== 'auth_required',
    ).length;
  const unsynced = accounts.filter(
    (account) => account.syncStatus !== 'auth_required' && (account.lastSyncedAt ?? '') < since,
  ).length;

  const pushes = stack.oneSignal.pushes();
  const perEpisode = new Map<string, number>();
  for (const push of pushes) {
    const data = push.data as { accountId?: unknown; episode?: unknown } | undefined;
    const key = `${String(data?.accountId)}#${String(data?.episode)}`;
    perEpisode.set(key, (perEpisode.get(key) ?? 0) + 1);
  }
  const duplicateNotifications = pushes.length - perEpisode.size;
  const pushedAccounts = new Set([...perEpisode.keys()].map((key) => key.split('#')[0]));
  const unpushed = authRequired.filter((account) => !pushedAccounts.has(account.accountId));
  const strayPushes = [...pushedAccounts].filter(
    (accountId) => !authRequired.some((account) => account.accountId === accountId),
  );

  let dlqLeft = 0;
  let messagesLeft = 0;
  for (const queue of Object.values(stack.queues)) {
    const depth = await queueDepth(stack.sqs, queue.url);
    const dead = await queueDepth(stack.sqs, queue.dlqUrl);
    if (!isEmpty(depth)) messagesLeft += depth.visible + depth.inFlight + depth.delayed;
    dlqLeft += dead.visible + dead.inFlight + dead.delayed;
  }
  const runs = await scanAll<SyncRun>(stack.doc, stack.tables.syncRuns);
  // Invariant 2 where it is sharpest: while a killed sync's lease held, nobody else synced.
  const trespasses = input.kills.filter((kill) =>
    runs.some(
      (run) =>
        kill.leasedAt !== undefined &&
        kill.leaseExpiresAt !== undefined &&
        run.accountId === kill.accountId &&
        run.startedAt > kill.leasedAt &&
        run.startedAt < kill.leaseExpiresAt,
    ),
  ).length;
  const stats = stack.simulator.stats();
  const secrets = secretsOf(stack, accounts);
  const leaky = input.logs
    .lines()
    .filter((line) => secrets.some((secret) => line.includes(secret)));

  const json: SoakJson = {
    accounts: accounts.length,
    rounds: scenario.rounds,
    transactions_expected: truth.expected,
    transactions_stored: truth.stored,
    lost: truth.missing,
    duplicated: truth.duplicated,
    stale_status: truth.staleStatus,
    unknown_transactions: truth.unknown,
    unsynced_accounts: unsynced,
    auth_required_accounts: authRequired.length,
    broken_links: world.brokenLinks.size,
    wrong_auth_required: wrongAuthRequired,
    notifications_sent: pushes.length,
    duplicate_notifications: duplicateNotifications,
    dlq_messages_redriven: input.redriven,
    dlq_messages_left: dlqLeft,
    messages_left: messagesLeft,
    leases_left: accounts.filter((account) => account.leaseOwner !== undefined).length,
    circuit_opened: input.circuitOpened,
    consumer_kills: input.kills.length,
    manual_syncs: input.manualSyncs,
    faults_injected: { ...stats.faults, rate_limited: stats.rateLimited },
    provider_requests: Object.values(stats.requests).reduce((sum, count) => sum + count, 0),
    sync_attempts: runs.length,
    handler_errors: input.handlerErrors,
    log_lines: input.logs.lines().length,
    leaky_log_lines: leaky.length,
    wall_s: Number(input.wallSeconds.toFixed(1)),
    ok: false,
  };

  const invariants: InvariantResult[] = [
    {
      name: '1. every transaction the provider reported stored once, with its latest status',
      ok: truth.missing === 0 && truth.duplicated === 0 && truth.staleStatus === 0,
      detail:
        `${truth.expected} expected, ${truth.stored} stored, ${truth.missing} lost, ` +
        `${truth.duplicated} duplicated, ${truth.staleStatus} stale, ${truth.unknown} unknown`,
    },
    {
      name: '1. every account with a working link synced by the final run',
      ok: unsynced === 0,
      detail: `${unsynced} of ${accounts.length - authRequired.length} not synced since ${since}`,
    },
    ...reported.filter((result) => !result.name.startsWith('every transaction')),
    {
      name: '2. a killed sync held its account until its lease expired, then the account resumed',
      ok: trespasses === 0,
      detail:
        `${input.kills.length} syncs killed mid-page, ` +
        `${input.kills.filter((kill) => kill.leasedAt !== undefined).length} leaving a lease, ` +
        `${trespasses} synced over by another before it expired`,
    },
    {
      name: '3. exactly the broken links need a re-link, each with exactly one push',
      ok:
        wrongAuthRequired === 0 &&
        unpushed.length === 0 &&
        duplicateNotifications === 0 &&
        strayPushes.length === 0,
      detail:
        `${authRequired.length} auth_required for ${world.brokenLinks.size} broken links ` +
        `(${wrongAuthRequired} wrong), ${pushes.length} pushes, ${unpushed.length} without, ` +
        `${duplicateNotifications} duplicated, ${strayPushes.length} for no episode`,
    },
    {
      name: '3. a platform credential failure opens the circuit and pushes nothing',
      ok: scenario.faults.platformAuthFailure
        ? input.circuitOpened && strayPushes.length === 0
        : !input.circuitOpened,
      detail: `circuit ${input.circuitOpened ? 'opened' : 'never opened'}, platform failure ${
        scenario.faults.platformAuthFailure ? 'on' : 'off'
      }`,
    },
    {
      name: '4. nothing dropped: every DLQ redriven and empty at the end',
      ok: dlqLeft === 0 && messagesLeft === 0,
      detail: `${input.redriven} redriven, ${dlqLeft} left in DLQs, ${messagesLeft} in queues`,
    },
    {
      name: '6. no credential, token, phone number or payload in a handler log line',
      ok: leaky.length === 0,
      detail: `${json.log_lines} lines scanned, ${leaky.length} leaky`,
    },
  ];
  json.ok = invariants.every((invariant) => invariant.ok);
  return { json, invariants };
}

/** Strings that must never reach a log line: credentials, phone numbers, payload keys. */
function secretsOf(stack: LocalStack, accounts: Account[]): string[] {
  const { apiKey, subscriptionKey, apiUser } = stack.simulator.credentials;
  const secrets = new Set([apiKey, subscriptionKey, apiUser, 'Bearer ', 'financialTransactionId']);
  for (const account of accounts) {
    const truth = stack.simulator.truth(account.walletId);
    secrets.add(truth.msisdn);
    for (const transaction of truth.transactions) secrets.add(transaction.partyId);
  }
  return [...secrets].filter((secret) => secret.length >= 8);
}

interface LogCapture {
  lines(): string[];
  stop(): void;
}

/**
 * Takes the handlers' Powertools log lines (JSON objects on stdout and stderr) out of the output
 * to scan them; everything else is written as usual.
 */
function captureHandlerLogs(): LogCapture {
  const captured: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write.bind(stream));
  streams.forEach((stream, index) => {
    const original = originals[index]!;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
      const lines = text.split('\n').filter((line) => line !== '');
      const logLines = lines.filter((line) => line.startsWith('{') && line.includes('"level"'));
      if (logLines.length === 0)
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      captured.push(...logLines);
      const other = lines.filter((line) => !logLines.includes(line));
      if (other.length > 0) original(`${other.join('\n')}\n`);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  });
  return {
    lines: () => captured,
    stop() {
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      });
    },
  };
}
