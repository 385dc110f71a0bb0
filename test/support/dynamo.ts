/**
 * dynalite for integration tests: one engine per test file (started in `beforeAll`), tables built
 * from lib/resources.ts through the same bridge the local stack uses, and factories for items.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CapacityCounter,
  createDocumentClient,
  createDynamoClient,
} from '../../adapters/dynamodb/client';
import type { Account, StoredTransaction, SyncRun } from '../../core/model';
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  IDEMPOTENCY_TABLE,
  SYNC_RUNS_TABLE,
  type TableDef,
  TRANSACTIONS_TABLE,
} from '../../lib/resources';
import { createTables, startDynalite } from '../../local/engines/dynamo';

export interface TestTables {
  accounts: string;
  transactions: string;
  syncRuns: string;
  control: string;
  idempotency: string;
}

export interface TestDynamo {
  endpoint: string;
  /** Low-level client, for table operations. */
  client: DynamoDBClient;
  /** Document client with the capacity counter attached. */
  doc: DynamoDBDocumentClient;
  tables: TestTables;
  capacity: CapacityCounter;
  close(): Promise<void>;
}

/** Starts dynalite on a free port and creates every table under `${prefix}-<local name>`. */
export async function startTestDynamo(prefix = 'test'): Promise<TestDynamo> {
  const engine = await startDynalite();
  const nameOf = (table: TableDef) => `${prefix}-${table.localName}`;
  const capacity = new CapacityCounter();
  const client = createDynamoClient({ endpoint: engine.endpoint });
  await createTables(client, undefined, nameOf);
  const doc = createDocumentClient({ endpoint: engine.endpoint, capacity });
  return {
    endpoint: engine.endpoint,
    client,
    doc,
    capacity,
    tables: {
      accounts: nameOf(ACCOUNTS_TABLE),
      transactions: nameOf(TRANSACTIONS_TABLE),
      syncRuns: nameOf(SYNC_RUNS_TABLE),
      control: nameOf(CONTROL_TABLE),
      idempotency: nameOf(IDEMPOTENCY_TABLE),
    },
    close: async () => {
      doc.destroy();
      client.destroy();
      await engine.close();
    },
  };
}

/** A valid, due, unleased account with a fresh id. */
export function accountFactory(overrides: Partial<Account> = {}): Account {
  return {
    accountId: `acc-${randomUUID()}`,
    ownerId: 'owner-1',
    name: 'Household wallet',
    type: 'momo_wallet',
    walletId: `consent-${randomUUID()}`,
    currency: 'GHS',
    syncStatus: 'active',
    consecutiveFailures: 0,
    dueAt: '2026-03-01T06:00:00.000Z',
    createdAt: '2026-02-01T09:00:00.000Z',
    updatedAt: '2026-02-01T09:00:00.000Z',
    ...overrides,
  };
}

/** A stored, successful transaction of the given account with a fresh reference. */
export function storedTransactionFactory(
  overrides: Partial<StoredTransaction> = {},
): StoredTransaction {
  return {
    accountId: 'acc-1',
    ref: `ft-${randomUUID()}`,
    externalId: 'order-1001',
    amountMinor: 2_500,
    currency: 'GHS',
    direction: 'DEBIT',
    status: 'SUCCESSFUL',
    counterparty: '******4321',
    description: 'Market stall',
    createdAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:00:00.000Z',
    fingerprint: 'fp-1',
    firstSeenAt: '2026-03-01T10:05:00.000Z',
    lastChangedAt: '2026-03-01T10:05:00.000Z',
    ...overrides,
  };
}

/** A finished, successful scheduled sync run with a fresh id. */
export function syncRunFactory(overrides: Partial<SyncRun> = {}): SyncRun {
  return {
    accountId: 'acc-1',
    runId: `run-${randomUUID()}`,
    trigger: 'schedule',
    startedAt: '2026-03-01T06:00:00.000Z',
    finishedAt: '2026-03-01T06:00:01.200Z',
    durationMs: 1_200,
    outcome: 'synced',
    counts: { added: 2, updated: 1, unchanged: 5, removed: 0, pages: 1, providerCalls: 1 },
    windowFrom: '2026-02-28T06:00:00.000Z',
    windowTo: '2026-03-01T06:00:00.000Z',
    ...overrides,
  };
}
