/**
 * In-memory implementations of the engine's ports with the same conditional semantics as the
 * DynamoDB adapters (lease fencing, conditional transaction writes). The engine's unit tests use
 * them to drive every branch quickly; the integration tests run the real adapters on dynalite.
 */
import { ProviderError } from '../../core/errors';
import type {
  Account,
  ProviderTransaction,
  RelinkRequest,
  StatementPage,
  StatementQuery,
  StoredTransaction,
  SyncRun,
} from '../../core/model';
import {
  type AccountLeases,
  type AccountPatch,
  type FetchOptions,
  LeaseLostError,
  type LeaseRequest,
  type LeaseResult,
  type Notifier,
  type StoredTransactionState,
  type SyncRunStore,
  type TransactionKey,
  type TransactionStore,
  type WalletProvider,
  type WriteExpectation,
} from '../../core/ports';

export function makeAccount(overrides: Partial<Account> = {}): Account {
  return {
    accountId: 'acc-1',
    ownerId: 'user-1',
    name: 'My MoMo',
    type: 'momo_wallet',
    walletId: 'wallet-1',
    currency: 'GHS',
    syncStatus: 'active',
    consecutiveFailures: 0,
    dueAt: '2026-01-01T00:00:00.000Z',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

export function makeProviderTx(overrides: Partial<ProviderTransaction> = {}): ProviderTransaction {
  return {
    ref: 'tx-1',
    amountMinor: 1500,
    currency: 'GHS',
    direction: 'CREDIT',
    status: 'SUCCESSFUL',
    counterparty: '******1234',
    createdAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:00:00.000Z',
    ...overrides,
  };
}

export class MemoryAccounts implements AccountLeases {
  readonly items = new Map<string, Account>();
  writes = 0;

  put(account: Account): void {
    this.items.set(account.accountId, structuredClone(account));
  }

  get(accountId: string): Account {
    const account = this.items.get(accountId);
    if (!account) throw new Error(`no account ${accountId}`);
    return account;
  }

  async acquireLease(request: LeaseRequest): Promise<LeaseResult> {
    const account = this.items.get(request.accountId);
    if (!account) return { acquired: false, reason: 'not_found' };
    if (account.syncStatus === 'auth_required') return { acquired: false, reason: 'auth_required' };
    const now = request.now.getTime();
    if (account.leaseOwner && Date.parse(account.leaseExpiresAt ?? '') >= now) {
      return { acquired: false, reason: 'busy' };
    }
    if (request.dueBy && Date.parse(account.dueAt) > Date.parse(request.dueBy)) {
      return { acquired: false, reason: 'not_due' };
    }
    this.writes += 1;
    account.leaseOwner = request.owner;
    account.leaseExpiresAt = new Date(now + request.leaseMs).toISOString();
    account.lastAttemptAt = request.now.toISOString();
    return { acquired: true, account: structuredClone(account) };
  }

  async checkpoint(accountId: string, owner: string, cursor: string, leaseExpiresAt: string) {
    const account = this.fenced(accountId, owner);
    this.writes += 1;
    account.cursor = cursor;
    account.leaseExpiresAt = leaseExpiresAt;
  }

  async release(accountId: string, owner: string, patch: AccountPatch): Promise<void> {
    const account = this.fenced(accountId, owner);
    this.writes += 1;
    const target = account as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete target[key];
      else if (value !== undefined) target[key] = structuredClone(value);
    }
    delete account.leaseOwner;
    delete account.leaseExpiresAt;
  }

  private fenced(accountId: string, owner: string): Account {
    const account = this.items.get(accountId);
    if (!account || account.leaseOwner !== owner) throw new LeaseLostError(accountId);
    return account;
  }
}

export class MemoryTransactions implements TransactionStore {
  readonly items = new Map<string, StoredTransaction>();
  writes = 0;

  private key(accountId: string, ref: string) {
    return `${accountId}|${ref}`;
  }

  all(accountId: string): StoredTransaction[] {
    return [...this.items.values()].filter((tx) => tx.accountId === accountId);
  }

  async getStates(accountId: string, keys: TransactionKey[]) {
    const states = new Map<string, StoredTransactionState>();
    for (const { ref } of keys) {
      const tx = this.items.get(this.key(accountId, ref));
      if (tx) states.set(ref, stateOf(tx));
    }
    return states;
  }

  async write(transaction: StoredTransaction, expect: WriteExpectation): Promise<boolean> {
    const key = this.key(transaction.accountId, transaction.ref);
    const existing = this.items.get(key);
    if (expect.kind === 'new' && existing) return false;
    if (expect.kind === 'changed' && existing?.fingerprint !== expect.previousFingerprint) {
      return false;
    }
    this.writes += 1;
    this.items.set(key, {
      ...structuredClone(transaction),
      firstSeenAt: existing?.firstSeenAt ?? transaction.firstSeenAt,
    });
    return true;
  }

  async listCreatedBetween(accountId: string, from: string, to: string) {
    return this.all(accountId)
      .filter((tx) => tx.createdAt >= from && tx.createdAt <= to)
      .map(stateOf);
  }

  async markRemoved(accountId: string, key: TransactionKey, removedAt: string, print: string) {
    const tx = this.items.get(this.key(accountId, key.ref));
    if (!tx || tx.fingerprint !== print) return false;
    this.writes += 1;
    tx.removedAt = removedAt;
    return true;
  }
}

function stateOf(tx: StoredTransaction): StoredTransactionState {
  return {
    ref: tx.ref,
    createdAt: tx.createdAt,
    fingerprint: tx.fingerprint,
    ...(tx.removedAt ? { removedAt: tx.removedAt } : {}),
  };
}

export class MemoryRuns implements SyncRunStore {
  readonly runs: SyncRun[] = [];
  async record(run: SyncRun): Promise<void> {
    this.runs.push(structuredClone(run));
  }
}

export class RecordingNotifier implements Notifier {
  readonly requests: RelinkRequest[] = [];
  failNext = false;
  async requestRelink(request: RelinkRequest): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('notify queue unavailable');
    }
    this.requests.push(request);
  }
}

/**
 * A provider over a list of transactions, honouring the statement contract (updatedAt window,
 * updatedAt order, pages of `pageSize`). `failWith` makes the next calls throw.
 */
export class ListProvider implements WalletProvider {
  transactions: ProviderTransaction[] = [];
  balance = { amountMinor: 0, currency: 'GHS' };
  pageSize = 2;
  readonly failures: Error[] = [];
  readonly queries: StatementQuery[] = [];

  async fetchStatement(query: StatementQuery, options?: FetchOptions): Promise<StatementPage> {
    options?.onRequest?.();
    this.queries.push(query);
    const failure = this.failures.shift();
    if (failure) throw failure;
    const inWindow = this.transactions
      .filter((tx) => tx.updatedAt >= query.from && tx.updatedAt < query.to)
      .sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.ref.localeCompare(b.ref));
    const start = Number(query.pageToken ?? 0);
    const end = start + this.pageSize;
    return {
      transactions: structuredClone(inWindow.slice(start, end)),
      balance: this.balance,
      ...(end < inWindow.length ? { nextPageToken: String(end) } : {}),
    };
  }
}

export function providerError(
  failureClass: ProviderError['failureClass'],
  code: string,
  retryAfterMs?: number,
) {
  return new ProviderError(failureClass, { code, retryAfterMs });
}

/** A clock that only moves when told to. */
export class ManualClock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  set(iso: string): void {
    this.current = new Date(iso);
  }
}
