/**
 * The one definition of momo-sync's tables and queues. The CDK constructs and the local stack
 * both build from it, so the key design the adapters rely on cannot drift between the cloud and
 * the laptop. It imports nothing from aws-cdk-lib on purpose: the local stack loads it too.
 */

export type KeyType = 'S' | 'N';

export interface KeyDef {
  name: string;
  type: KeyType;
}

export interface IndexDef {
  indexName: string;
  partitionKey: KeyDef;
  sortKey?: KeyDef;
  /** KEYS_ONLY: an update that leaves the keys alone costs no index write. */
  projection: 'KEYS_ONLY' | 'ALL';
}

export interface TableDef {
  /** CDK construct id; a contract: renaming it replaces the table. */
  id: string;
  /** Table name in the local stack (CloudFormation names the deployed ones). */
  localName: string;
  /** Environment variable that hands the table name to the Lambdas. */
  env: string;
  partitionKey: KeyDef;
  sortKey?: KeyDef;
  globalIndexes: IndexDef[];
  timeToLiveAttribute?: string;
}

/**
 * accounts: one item per linked wallet, keyed by our account id. `byOwner` lists a user's
 * accounts. There is deliberately no "due" index: every sync moves the due time, and a GSI on it
 * would cost two extra index writes per account per day (an update of an index key is a delete
 * and a put). The fan-out finds due accounts with parallel scan segments instead; see
 * core/fan-out.ts for the arithmetic.
 */
export const ACCOUNTS_TABLE: TableDef = {
  id: 'Accounts',
  localName: 'momo-sync-accounts',
  env: 'ACCOUNTS_TABLE',
  partitionKey: { name: 'accountId', type: 'S' },
  globalIndexes: [
    {
      indexName: 'byOwner',
      partitionKey: { name: 'ownerId', type: 'S' },
      sortKey: { name: 'accountId', type: 'S' },
      projection: 'KEYS_ONLY',
    },
  ],
};

/**
 * transactions: keyed by account and `createdAt#ref`. The provider's creation time and reference
 * never change for a transaction, so the key is known from the payload alone and a conditional
 * put on it is the dedup; sorting by key lists an account's transactions by time with no index,
 * which keeps a new transaction at exactly one write unit.
 */
export const TRANSACTIONS_TABLE: TableDef = {
  id: 'Transactions',
  localName: 'momo-sync-transactions',
  env: 'TRANSACTIONS_TABLE',
  partitionKey: { name: 'accountId', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalIndexes: [],
};

/** sync-runs: one record per attempt, newest last by `startedAt#runId`, expiring by TTL. */
export const SYNC_RUNS_TABLE: TableDef = {
  id: 'SyncRuns',
  localName: 'momo-sync-sync-runs',
  env: 'SYNC_RUNS_TABLE',
  partitionKey: { name: 'accountId', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalIndexes: [],
  timeToLiveAttribute: 'expiresAt',
};

/** control: small fleet-wide items (the provider circuit, fan-out run progress). */
export const CONTROL_TABLE: TableDef = {
  id: 'Control',
  localName: 'momo-sync-control',
  env: 'CONTROL_TABLE',
  partitionKey: { name: 'pk', type: 'S' },
  globalIndexes: [],
  timeToLiveAttribute: 'expiresAt',
};

/** idempotency: Powertools idempotency records (its default key and TTL attribute names). */
export const IDEMPOTENCY_TABLE: TableDef = {
  id: 'Idempotency',
  localName: 'momo-sync-idempotency',
  env: 'IDEMPOTENCY_TABLE',
  partitionKey: { name: 'id', type: 'S' },
  globalIndexes: [],
  timeToLiveAttribute: 'expiration',
};

export const TABLES = [
  ACCOUNTS_TABLE,
  TRANSACTIONS_TABLE,
  SYNC_RUNS_TABLE,
  CONTROL_TABLE,
  IDEMPOTENCY_TABLE,
] as const;

export interface QueueDef {
  /** CDK construct id of the queue; its DLQ is `${id}Dlq`. */
  id: string;
  /** Short name operators use (`npm run ops -- redrive --queue sync`). */
  name: string;
  localName: string;
  env: string;
  /** Receives before SQS moves a message to the DLQ. */
  maxReceiveCount: number;
  /** Visibility timeout as a multiple of the consuming function's timeout. */
  visibilityTimeoutFactor: number;
  retentionDays: number;
  dlqRetentionDays: number;
}

const queueDefaults = {
  maxReceiveCount: 5,
  // AWS recommends at least six times the function timeout for SQS event sources, so that a
  // batch retried by the poller does not reappear while the first attempt is still running.
  visibilityTimeoutFactor: 6,
  retentionDays: 4,
  dlqRetentionDays: 14,
};

/** The daily backlog: one message per due account, queued by the fan-out. */
export const SYNC_QUEUE: QueueDef = {
  id: 'SyncQueue',
  name: 'sync',
  localName: 'momo-sync-sync',
  env: 'SYNC_QUEUE_URL',
  ...queueDefaults,
};

/** Syncs a user asked for; a queue of their own so they never wait behind the daily backlog. */
export const MANUAL_QUEUE: QueueDef = {
  id: 'ManualSyncQueue',
  name: 'manual',
  localName: 'momo-sync-manual',
  env: 'MANUAL_QUEUE_URL',
  ...queueDefaults,
};

/** Fan-out work: one message per scan segment of the accounts table. */
export const FANOUT_QUEUE: QueueDef = {
  id: 'FanOutQueue',
  name: 'fanout',
  localName: 'momo-sync-fanout',
  env: 'FANOUT_QUEUE_URL',
  ...queueDefaults,
};

/** Re-link push requests for the notifier. */
export const NOTIFY_QUEUE: QueueDef = {
  id: 'NotifyQueue',
  name: 'notify',
  localName: 'momo-sync-notify',
  env: 'NOTIFY_QUEUE_URL',
  ...queueDefaults,
};

export const QUEUES = [SYNC_QUEUE, MANUAL_QUEUE, FANOUT_QUEUE, NOTIFY_QUEUE] as const;

export function dlqLocalName(queue: QueueDef): string {
  return `${queue.localName}-dlq`;
}

export function dlqEnv(queue: QueueDef): string {
  return queue.env.replace(/_URL$/, '_DLQ_URL');
}
