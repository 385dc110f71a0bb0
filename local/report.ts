/**
 * What a run of the local stack did and whether it kept its promises, read back from the tables,
 * the queues and the simulator's own truth rather than from counters kept along the way: the
 * summary must be able to disagree with what the handlers believe they did.
 */
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Account, StoredTransaction, SyncRun } from '../core/model';
import { QUEUES } from '../lib/resources';
import type { DemoAccount } from './demo';
import { isEmpty, type LocalQueue, queueDepth } from './engines/sqs';
import { DEFAULT_API_PORT } from './jwt-issuer';
import type { MomoSimulator } from './momo-sim';
import type { DeliveredPush, RunningOneSignalStub } from './onesignal-stub';
import type { LocalTables } from './stack';

/** The parts of a local stack the report reads. */
export interface ReportSources {
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  tables: LocalTables;
  queues: Record<string, LocalQueue>;
  simulator: MomoSimulator;
  oneSignal?: RunningOneSignalStub;
  /** SQS requests spent on the work so far (see `sqsWorkRequests` in ./stack). */
  sqsRequests?: () => number;
  /**
   * When a transaction first appeared in the simulator, for worlds that change while accounts
   * stop syncing (a soak that revokes links): one that appeared after an account's last sync
   * could not have been fetched, even when it is stamped earlier (a late arrival).
   */
  insertedAt?: (walletId: string, ref: string) => string | undefined;
}

export interface RunScope {
  /** The scheduled run's id (`schedule-<time>`). */
  runId: string;
  /** When the run began: sync runs and syncs from then on belong to it. */
  since: string;
  /** Accounts that were due when the scheduler ticked. */
  dueAccountIds: string[];
  /** Owners with a push device in the OneSignal stub: their re-link episodes must push once. */
  pushableOwners?: string[];
}

export interface SyncSummary {
  runId: string;
  accounts: number;
  due: number;
  /** Accounts whose `lastSyncedAt` is within the run. */
  synced: number;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** Sync-run records written during the run. */
  attempts: number;
  relinkNeeded: number;
  /** Not waiting for a re-link, but failed lately and held back until their `dueAt`. */
  inBackoff: number;
  /** Messages in each DLQ, by queue name. */
  dlq: Record<string, number>;
  dlqTotal: number;
  /** Messages still in the work queues (visible, in flight or delayed). */
  queued: number;
  /** Pushes the OneSignal stub delivered. */
  pushes?: number;
  /** SQS requests spent on the work: sends, non-empty receives, deletes, visibility changes. */
  sqsRequests?: number;
  /** Requests the simulator answered (token requests included). */
  providerCalls: number;
}

export interface InvariantResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** Reads the outcome of a run from the tables, queues, simulator and stub. */
export async function summarize(sources: ReportSources, scope: RunScope): Promise<SyncSummary> {
  // Before the summary's own requests.
  const sqsRequests = sources.sqsRequests?.();
  const accounts = await scanAll<Account>(sources.doc, sources.tables.accounts);
  const runs = (await scanAll<SyncRun>(sources.doc, sources.tables.syncRuns)).filter(
    (run) => run.startedAt >= scope.since,
  );
  const now = new Date().toISOString();
  const totals = { added: 0, updated: 0, unchanged: 0, removed: 0 };
  for (const run of runs) {
    totals.added += run.counts?.added ?? 0;
    totals.updated += run.counts?.updated ?? 0;
    totals.unchanged += run.counts?.unchanged ?? 0;
    totals.removed += run.counts?.removed ?? 0;
  }
  const dlq: Record<string, number> = {};
  let queued = 0;
  for (const def of QUEUES) {
    const queue = sources.queues[def.name];
    if (!queue) continue;
    const depth = await queueDepth(sources.sqs, queue.url);
    queued += depth.visible + depth.inFlight + depth.delayed;
    const dead = await queueDepth(sources.sqs, queue.dlqUrl);
    dlq[def.name] = dead.visible + dead.delayed;
  }
  const simulatorRequests = sources.simulator.stats().requests;
  return {
    runId: scope.runId,
    accounts: accounts.length,
    due: scope.dueAccountIds.length,
    synced: accounts.filter((account) => (account.lastSyncedAt ?? '') >= scope.since).length,
    ...totals,
    attempts: runs.length,
    relinkNeeded: accounts.filter((account) => account.syncStatus === 'auth_required').length,
    inBackoff: accounts.filter(
      (account) =>
        account.syncStatus !== 'auth_required' &&
        account.consecutiveFailures > 0 &&
        account.dueAt > now,
    ).length,
    dlq,
    dlqTotal: Object.values(dlq).reduce((sum, count) => sum + count, 0),
    queued,
    ...(sources.oneSignal ? { pushes: sources.oneSignal.pushes().length } : {}),
    ...(sqsRequests === undefined ? {} : { sqsRequests }),
    providerCalls: Object.values(simulatorRequests).reduce((sum, count) => sum + count, 0),
  };
}

/** Checks the invariants of ARCHITECTURE.md that one run of the local stack can show. */
export async function checkInvariants(
  sources: ReportSources,
  scope: RunScope,
): Promise<InvariantResult[]> {
  const accounts = await scanAll<Account>(sources.doc, sources.tables.accounts);
  const results = [
    await storedExactlyOnce(sources, accounts),
    noLeaseLeft(accounts),
    await noMessageLost(sources, scope),
  ];
  if (sources.oneSignal && scope.pushableOwners) {
    results.push(onePushPerEpisode(sources.oneSignal, accounts, scope));
  }
  return results;
}

/**
 * Invariant 3, for the episodes the run opened: each one whose owner has a device and wants
 * pushes got exactly one push, and no push went anywhere else.
 */
function onePushPerEpisode(
  stub: RunningOneSignalStub,
  accounts: Account[],
  scope: RunScope,
): InvariantResult {
  const pushable = new Set(scope.pushableOwners);
  const counts = new Map<string, number>();
  for (const push of stub.pushes()) {
    const data = push.data as { accountId?: unknown; episode?: unknown } | undefined;
    const key = `${String(data?.accountId)}#${String(data?.episode)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const expected = new Set(
    accounts
      .filter(
        (account) =>
          account.syncStatus === 'auth_required' &&
          account.reauth !== undefined &&
          account.reauth.openedAt >= scope.since &&
          account.relinkPushes !== false &&
          pushable.has(account.ownerId),
      )
      .map((account) => `${account.accountId}#${account.reauth?.episode}`),
  );
  const missing = [...expected].filter((key) => !counts.has(key));
  const repeated = [...counts].filter(([, count]) => count > 1).map(([key]) => key);
  const stray = [...counts.keys()].filter((key) => !expected.has(key));
  return {
    name: 'one re-link push per re-auth episode',
    ok: missing.length === 0 && repeated.length === 0 && stray.length === 0,
    detail:
      `${expected.size} episodes, ${missing.length} without a push, ` +
      `${repeated.length} pushed more than once, ${stray.length} pushes for no open episode`,
  };
}

/** The stored transactions held against the simulator's truth, in counts. */
export interface TruthComparison {
  /** Transactions the provider reported before each account's last sync. */
  expected: number;
  /** Stored copies of the expected transactions, plus the unknown ones: expected when all is well. */
  stored: number;
  /** Expected but not stored. */
  missing: number;
  /** Copies beyond the first of one transaction. */
  duplicated: number;
  /** Stored with another status than the provider's latest. */
  staleStatus: number;
  /** Stored under a reference the provider never reported for the wallet. */
  unknown: number;
}

/** Invariant 1: every transaction of the simulator's truth stored once, with its status. */
async function storedExactlyOnce(
  sources: ReportSources,
  accounts: Account[],
): Promise<InvariantResult> {
  const { expected, missing, duplicated, staleStatus, unknown } = await compareWithTruth(
    sources,
    accounts,
  );
  const ok = missing === 0 && duplicated === 0 && staleStatus === 0 && unknown === 0;
  return {
    name: 'every transaction of the simulator stored exactly once, with its status',
    ok,
    detail: `${expected} expected, ${missing} missing, ${duplicated} duplicated, ${staleStatus} stale status, ${unknown} unknown`,
  };
}

/**
 * Compares each synced account's stored transactions with the simulator's truth up to the
 * account's last sync (the counts behind invariant 1, for the benchmark and the chaos soak).
 */
export async function compareWithTruth(
  sources: Pick<ReportSources, 'doc' | 'tables' | 'simulator' | 'insertedAt'>,
  accounts?: Account[],
): Promise<TruthComparison> {
  const all = accounts ?? (await scanAll<Account>(sources.doc, sources.tables.accounts));
  let expected = 0;
  let stored = 0;
  let missing = 0;
  let duplicated = 0;
  let staleStatus = 0;
  let unknown = 0;
  const known = new Set(sources.simulator.walletIds());
  for (const account of all) {
    // Only a synced account can be held to the truth; one that never synced is the concern of
    // the no-message-lost check.
    if (!account.lastSyncedAt || !known.has(account.walletId)) continue;
    const truth = sources.simulator.truth(account.walletId);
    const items = await queryAll<StoredTransaction>(
      sources.doc,
      sources.tables.transactions,
      account.accountId,
    );
    const byRef = new Map<string, StoredTransaction[]>();
    for (const item of items) byRef.set(item.ref, [...(byRef.get(item.ref) ?? []), item]);
    const truthRefs = new Set<string>();
    for (const transaction of truth.transactions) {
      truthRefs.add(transaction.financialTransactionId);
      // What the provider reported before the last sync; later changes await the next one.
      if (transaction.removed || transaction.updatedAt > account.lastSyncedAt) continue;
      const inserted = sources.insertedAt?.(account.walletId, transaction.financialTransactionId);
      if (inserted !== undefined && inserted > account.lastSyncedAt) continue;
      expected += 1;
      const copies = byRef.get(transaction.financialTransactionId) ?? [];
      stored += copies.length;
      if (copies.length === 0) missing += 1;
      if (copies.length > 1) duplicated += copies.length - 1;
      if (copies.length > 0 && copies.some((copy) => copy.status !== transaction.status)) {
        staleStatus += 1;
      }
    }
    for (const ref of byRef.keys()) if (!truthRefs.has(ref)) unknown += 1;
  }
  stored += unknown;
  return { expected, stored, missing, duplicated, staleStatus, unknown };
}

/** Invariant 2, as a run's end shows it: no account still leased. */
function noLeaseLeft(accounts: Account[]): InvariantResult {
  const leased = accounts.filter((account) => account.leaseOwner !== undefined);
  return {
    name: 'no lease left behind',
    ok: leased.length === 0,
    detail:
      leased.length === 0
        ? `${accounts.length} accounts free`
        : `leased: ${leased.map((account) => account.accountId).join(', ')}`,
  };
}

/**
 * Invariant 4, as a run's end shows it: the work queues are empty and every account that was
 * due has a sync-run record of the run or a message in a DLQ.
 */
async function noMessageLost(sources: ReportSources, scope: RunScope): Promise<InvariantResult> {
  let queued = 0;
  const deadLettered = new Set<string>();
  for (const def of QUEUES) {
    const queue = sources.queues[def.name];
    if (!queue) continue;
    const depth = await queueDepth(sources.sqs, queue.url);
    if (!isEmpty(depth)) queued += depth.visible + depth.inFlight + depth.delayed;
    for (const body of await peekBodies(sources.sqs, queue.dlqUrl)) {
      const accountId = accountIdOf(body);
      if (accountId) deadLettered.add(accountId);
    }
  }
  const runs = (await scanAll<SyncRun>(sources.doc, sources.tables.syncRuns)).filter(
    (run) => run.startedAt >= scope.since,
  );
  const attempted = new Set(runs.map((run) => run.accountId));
  const unaccounted = scope.dueAccountIds.filter(
    (accountId) => !attempted.has(accountId) && !deadLettered.has(accountId),
  );
  return {
    name: 'no message lost: queues drained, every due account attempted or dead-lettered',
    ok: queued === 0 && unaccounted.length === 0,
    detail:
      `${queued} left in queues, ${scope.dueAccountIds.length - unaccounted.length} of ` +
      `${scope.dueAccountIds.length} due accounts accounted for` +
      (unaccounted.length > 0 ? ` (missing: ${unaccounted.slice(0, 5).join(', ')})` : ''),
  };
}

function accountIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { accountId?: unknown };
    return typeof parsed.accountId === 'string' ? parsed.accountId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The bodies of a DLQ, read without consuming them: each message is received once and left to
 * come back after a short visibility timeout. It costs each message one receive, which a DLQ
 * (no redrive policy of its own) does not count against anything.
 */
export async function peekBodies(sqs: SQSClient, queueUrl: string, max = 1000): Promise<string[]> {
  const seen = new Map<string, string>();
  while (seen.size < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 2,
        WaitTimeSeconds: 0,
      }),
    );
    const fresh = Messages.filter((message) => !seen.has(message.MessageId ?? ''));
    if (fresh.length === 0) break;
    for (const message of fresh) seen.set(message.MessageId ?? '', message.Body ?? '');
  }
  return [...seen.values()];
}

/** Every item of a table, read consistently page by page. */
export async function scanAll<T>(doc: DynamoDBDocumentClient, tableName: string): Promise<T[]> {
  const items: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey, ConsistentRead: true }),
    );
    items.push(...((page.Items ?? []) as T[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

async function queryAll<T>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  accountId: string,
): Promise<T[]> {
  const items: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'accountId = :accountId',
        ExpressionAttributeValues: { ':accountId': accountId },
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    items.push(...((page.Items ?? []) as T[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** The summary and the invariants as the aligned text `npm start` prints. */
export function renderReport(
  summary: SyncSummary,
  invariants: InvariantResult[],
  wallSeconds: number,
): string {
  const perAccount = (count: number) =>
    summary.due > 0 ? ` (${(count / summary.due).toFixed(2)} per due account)` : '';
  const dlqDetail = Object.entries(summary.dlq)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
  const rows: [string, string][] = [
    ['accounts synced', `${summary.synced} of ${summary.due} due (${summary.accounts} in all)`],
    ['transactions added', String(summary.added)],
    ['transactions updated', String(summary.updated)],
    ['transactions unchanged', String(summary.unchanged)],
    ['re-link needed', String(summary.relinkNeeded)],
    ['in backoff', String(summary.inBackoff)],
    ['DLQ depth', dlqDetail ? `${summary.dlqTotal} (${dlqDetail})` : String(summary.dlqTotal)],
    ['sync attempts', String(summary.attempts)],
    ['provider calls', `${summary.providerCalls}${perAccount(summary.providerCalls)}`],
  ];
  if (summary.sqsRequests !== undefined) {
    rows.push(['SQS requests', `${summary.sqsRequests}${perAccount(summary.sqsRequests)}`]);
  }
  if (summary.pushes !== undefined) rows.push(['re-link pushes sent', String(summary.pushes)]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `Scheduled sync ${summary.runId} finished in ${wallSeconds.toFixed(1)} s`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    'Invariants',
    ...invariants.map(
      (invariant) => `  ${invariant.ok ? 'ok  ' : 'FAIL'}  ${invariant.name}: ${invariant.detail}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** The command that prints a token for `user` from the API on `apiUrl` (its port, if not 4000). */
export function tokenCommand(user: string, apiUrl?: string): string {
  const port = apiUrl ? Number(new URL(apiUrl).port) : DEFAULT_API_PORT;
  return `npm run local:token -- --user ${user}${port === DEFAULT_API_PORT ? '' : ` --port ${port}`}`;
}

/** The demo users and their accounts: who to mint a local API token for, and which ids to try. */
export function renderDemoUsers(demo: readonly DemoAccount[], apiUrl?: string): string {
  const owners = [...new Set(demo.map((account) => account.ownerId))];
  const width = Math.max(...owners.map((owner) => owner.length));
  const lines = owners.map((owner) => {
    const accounts = demo
      .filter((account) => account.ownerId === owner)
      .map((a) => (a.link === 'active' ? a.accountId : `${a.accountId} (link ${a.link})`));
    return `  ${owner.padEnd(width)}  ${accounts.join(', ')}`;
  });
  return `Demo users (${tokenCommand('ID', apiUrl)})\n${lines.join('\n')}\n`;
}

/** What the OneSignal stub received and delivered: to whom, for which account, in which words. */
export function renderPushes(pushes: readonly DeliveredPush[]): string {
  if (pushes.length === 0) return 'Pushes recorded by the OneSignal stub: none\n';
  const lines = pushes.flatMap((push) => [
    `  to ${push.externalIds.join(', ')}  account ${String(push.data?.accountId)}` +
      `  ${String(push.data?.reason)}  opens ${push.appUrl ?? push.url ?? '(no link)'}`,
    ...Object.entries(push.headings).map(([language, heading]) => `    ${language}  ${heading}`),
  ]);
  return `Pushes recorded by the OneSignal stub (${pushes.length})\n${lines.join('\n')}\n`;
}
