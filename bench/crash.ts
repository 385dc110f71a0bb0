/**
 * Killed consumers, for the chaos soak. Lambda can kill an invocation anywhere (a timeout, an
 * out-of-memory, a host lost); what it leaves behind is a lease nobody will release, some of a
 * page written, no sync-run record, and the batch back on its queue. A handler in this process
 * cannot be killed, so a killed invocation is played by the very engine and adapters the
 * consumer runs, with stores that stop answering at the kill point: the engine's promise never
 * settles, exactly as if its process had gone. The poller then sees the invocation fail, and the
 * batch comes back once the lease has run out. Right after a kill the owner asks for a sync of
 * the account, so that a consumer meets the lease left behind while it holds.
 *
 * Time is compressed in two places, so that a soak does not wait minutes for what changes
 * nothing: a killed sync holds its lease for {@link KILLED_LEASE_SECONDS} instead of the
 * profile's lease, and its batch comes back as soon as that lease has expired instead of after
 * the queue's visibility timeout (on AWS, six consumer timeouts: also after the lease).
 */
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { DynamoAccountStore } from '../adapters/dynamodb/accounts';
import { DynamoCircuitStore } from '../adapters/dynamodb/circuit';
import { DynamoSyncRunStore } from '../adapters/dynamodb/sync-runs';
import { DynamoTransactionStore } from '../adapters/dynamodb/transactions';
import { MomoClient } from '../adapters/momo/client';
import { SqsNotifier } from '../adapters/sqs/notify-queue';
import { SqsSyncQueue } from '../adapters/sqs/sync-queue';
import type { SyncMessage } from '../core/model';
import { type AccountLeases, systemClock, type TransactionStore } from '../core/ports';
import { syncAccount } from '../core/sync-engine';
import { LOCAL_PROFILE } from '../local/env';
import type { Random } from '../local/momo-sim/random';
import type { SqsBatchHandler } from '../local/poller';
import type { LocalStack } from '../local/stack';
import { syncConfigOf } from './world';

/** What the poller sees of a killed invocation: an invocation error. */
export class InvocationKilledError extends Error {
  constructor() {
    super('invocation killed');
    this.name = 'InvocationKilledError';
  }
}

/** How long the lease of a killed sync holds. */
export const KILLED_LEASE_SECONDS = 5;

/** A sync that was killed, and the lease it left. */
export interface Kill {
  accountId: string;
  /** When it took the lease; absent when it took none (the account was busy or not due). */
  leasedAt?: string;
  /** When the lease it left behind expires. */
  leaseExpiresAt?: string;
}

/** A promise that never settles: the rest of a killed invocation. */
const never = <T>() => new Promise<T>(() => {});

/** Kills a share of the sync-account invocations mid-page; `rate` can change between rounds. */
export class ConsumerKiller {
  /** Chance that a sync is killed (each record of a batch is one chance). */
  rate = 0;
  /** The syncs killed so far. */
  readonly kills: Kill[] = [];
  private readonly config = {
    ...syncConfigOf(LOCAL_PROFILE.sync),
    leaseMs: KILLED_LEASE_SECONDS * 1000,
  };
  private stackRef: LocalStack | undefined;

  constructor(private readonly random: Random) {}

  /** The stack whose stores and queues the killed invocations use; before the first kill. */
  attach(stack: LocalStack): void {
    this.stackRef = stack;
  }

  private get stack(): LocalStack {
    if (!this.stackRef) throw new Error('ConsumerKiller used before attach(stack)');
    return this.stackRef;
  }

  /**
   * The handler of one slot, killed now and then; pass it as the stack's `wrapSyncHandler`. Each
   * record is a chance of a kill: the records before it are handled for real (their syncs done,
   * their messages not yet deleted, as in Lambda), the kill falls in the middle of its sync, and
   * the whole batch comes back.
   */
  readonly wrap =
    (handler: SqsBatchHandler): SqsBatchHandler =>
    async (event, context) => {
      const victim = event.Records.findIndex(() => this.random.chance(this.rate));
      const record = event.Records[victim];
      if (!record || !this.stackRef || !(await this.circuitClosed())) {
        return handler(event, context);
      }
      if (victim > 0) {
        // Their outcome is moot: the invocation dies before Lambda could delete anything.
        await handler({ Records: event.Records.slice(0, victim) }, context).catch(() => undefined);
      }
      const owner = `killed:${context.awsRequestId}:${record.messageId}`;
      const { accountId, leasedAt } = await this.killMidPage(record, owner);
      const account = await new DynamoAccountStore(this.stack.doc, this.stack.tables.accounts).get(
        accountId,
        true,
      );
      this.kills.push({
        accountId,
        ...(leasedAt !== undefined && account?.leaseOwner === owner
          ? { leasedAt, leaseExpiresAt: account.leaseExpiresAt }
          : {}),
      });
      // The owner asks again at once: a consumer must find the account leased and leave it.
      await new SqsSyncQueue(this.stack.sqs, this.stack.queues.manual?.url ?? '').enqueue([
        { accountId, trigger: 'manual', runId: 'chaos-after-kill' },
      ]);
      await this.returnAfterLease(event.Records);
      throw new InvocationKilledError();
    };

  /**
   * Runs the sync of the record until the kill point: after 0 to 2 transaction writes of a page,
   * or at the release, whichever comes first. Resolves at the kill (or when the sync ended
   * before one, e.g. the lease was busy: then the kill came after the work).
   */
  private async killMidPage(
    record: SQSRecord,
    leaseOwner: string,
  ): Promise<{ accountId: string; leasedAt?: string }> {
    const message = JSON.parse(record.body) as SyncMessage;
    const { doc, tables, simulator } = this.stack;
    let reachKill!: () => void;
    const killed = new Promise<void>((resolve) => {
      reachKill = resolve;
    });
    const kill = <T>(): Promise<T> => {
      reachKill();
      return never<T>();
    };
    let writesLeft = this.random.int(0, 2);
    const realTransactions = new DynamoTransactionStore(doc, tables.transactions);
    const transactions: TransactionStore = {
      getStates: (accountId, keys) => realTransactions.getStates(accountId, keys),
      write: (transaction, expect) => {
        if (writesLeft <= 0) return kill();
        writesLeft -= 1;
        return realTransactions.write(transaction, expect);
      },
      listCreatedBetween: (accountId, from, to) =>
        realTransactions.listCreatedBetween(accountId, from, to),
      markRemoved: (accountId, key, removedAt, fingerprint) =>
        realTransactions.markRemoved(accountId, key, removedAt, fingerprint),
    };
    const realAccounts = new DynamoAccountStore(doc, tables.accounts);
    let leasedAt: string | undefined;
    const accounts: AccountLeases = {
      acquireLease: async (request) => {
        const lease = await realAccounts.acquireLease(request);
        // The instant the condition was decided at: no other sync can start before it expires.
        if (lease.acquired) leasedAt = request.now.toISOString();
        return lease;
      },
      checkpoint: (accountId, owner, cursor, expiresAt) =>
        realAccounts.checkpoint(accountId, owner, cursor, expiresAt),
      release: () => kill(),
    };
    const sync = syncAccount(
      {
        accounts,
        transactions,
        runs: new DynamoSyncRunStore(doc, tables.syncRuns, LOCAL_PROFILE.sync.syncRunTtlDays),
        provider: new MomoClient({ baseUrl: simulator.url, ...simulator.credentials }),
        notifier: new SqsNotifier(this.stack.sqs, this.stack.queues.notify?.url ?? ''),
        clock: systemClock,
      },
      {
        accountId: message.accountId,
        trigger: message.trigger,
        runId: message.runId,
        leaseOwner,
        remainingTimeMs: () => LOCAL_PROFILE.consumer.timeoutSeconds * 1000,
      },
      this.config,
    );
    await Promise.race([
      killed,
      sync.then(
        () => undefined,
        () => undefined,
      ),
    ]);
    return { accountId: message.accountId, ...(leasedAt ? { leasedAt } : {}) };
  }

  /** The killed batch comes back once the lease it left behind has expired. */
  private async returnAfterLease(records: SQSRecord[]): Promise<void> {
    const seconds = KILLED_LEASE_SECONDS + 1;
    for (const record of records) {
      const queue = Object.values(this.stack.queues).find(
        (candidate) => candidate.arn === record.eventSourceARN,
      );
      if (!queue) continue;
      await this.stack.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queue.url,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    }
  }

  /** Kills only while the fleet calls the provider; a consumer held by the circuit calls none. */
  private async circuitClosed(): Promise<boolean> {
    const state = await new DynamoCircuitStore(this.stack.doc, this.stack.tables.control).read();
    return state.status === 'closed';
  }
}
