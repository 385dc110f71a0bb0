import {
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { StoredTransaction } from '../../core/model';
import type {
  StoredTransactionState,
  TransactionKey,
  TransactionStore,
  WriteExpectation,
} from '../../core/ports';
import { batchGetAll, isConditionFailure, type StartKey } from './expressions';

/** The sort key: creation time first so that key order is time order, then the reference. */
export function transactionSortKey(key: TransactionKey): string {
  return `${key.createdAt}#${key.ref}`;
}

/** Sorts after every `${createdAt}#${ref}` with that creation time (refs are ASCII). */
function endOf(createdAt: string): string {
  return `${createdAt}#\uffff`;
}

const STATE_PROJECTION = {
  ProjectionExpression: '#ref, createdAt, fingerprint, removedAt',
  ExpressionAttributeNames: { '#ref': 'ref' },
};

type TransactionItem = StoredTransaction & { sk: string };

/**
 * Only the StoredTransaction fields, so nothing else the provider sent can ride along: an item
 * stays far below 1 KB and a new or changed transaction costs exactly one write unit.
 */
function toItem(transaction: StoredTransaction): TransactionItem {
  return {
    accountId: transaction.accountId,
    sk: transactionSortKey(transaction),
    ref: transaction.ref,
    externalId: transaction.externalId,
    amountMinor: transaction.amountMinor,
    currency: transaction.currency,
    direction: transaction.direction,
    status: transaction.status,
    counterparty: transaction.counterparty,
    description: transaction.description,
    createdAt: transaction.createdAt,
    updatedAt: transaction.updatedAt,
    fingerprint: transaction.fingerprint,
    removedAt: transaction.removedAt,
    firstSeenAt: transaction.firstSeenAt,
    lastChangedAt: transaction.lastChangedAt,
  };
}

function fromItem(item: Record<string, unknown>): StoredTransaction {
  const { sk: _sk, ...transaction } = item as unknown as TransactionItem;
  return transaction;
}

function toState(item: Record<string, unknown>): StoredTransactionState {
  const { ref, createdAt, fingerprint, removedAt } = item as unknown as StoredTransactionState;
  return removedAt === undefined
    ? { ref, createdAt, fingerprint }
    : { ref, createdAt, fingerprint, removedAt };
}

export interface ListTransactionsRequest {
  /** Inclusive lower bound on `createdAt`. */
  from?: string;
  /** Inclusive upper bound on `createdAt`. */
  to?: string;
  limit: number;
  startKey?: StartKey;
}

export interface TransactionPage {
  /** Newest first. */
  items: StoredTransaction[];
  lastKey?: StartKey;
}

/**
 * Transactions keyed by (accountId, `createdAt#ref`): the key is known from the provider's
 * payload alone, so a conditional put on it is the dedup and key order is time order.
 */
export class DynamoTransactionStore implements TransactionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The stored states of the given transactions, keyed by `ref`. */
  async getStates(
    accountId: string,
    keys: TransactionKey[],
  ): Promise<Map<string, StoredTransactionState>> {
    // BatchGetItem rejects a request that names one key twice, and a page may repeat a ref.
    const sortKeys = new Set(keys.map(transactionSortKey));
    const items = await batchGetAll<Record<string, unknown>>(
      this.doc,
      this.tableName,
      [...sortKeys].map((sk) => ({ accountId, sk })),
      {
        projection: STATE_PROJECTION.ProjectionExpression,
        names: STATE_PROJECTION.ExpressionAttributeNames,
        // The engine's next write is conditioned on this fingerprint. An eventually consistent
        // read may miss a write made a moment ago (the sync before this one), and the refused
        // condition would then stop the sync as if its lease were lost. Reads cost a fifth of
        // a write, and a sync reads only the transactions its statement returned.
        consistent: true,
      },
    );
    return new Map(items.map((item) => [item.ref as string, toState(item)]));
  }

  async write(transaction: StoredTransaction, expect: WriteExpectation): Promise<boolean> {
    try {
      if (expect.kind === 'new') {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: toItem(transaction),
            ConditionExpression: 'attribute_not_exists(sk)',
          }),
        );
      } else {
        await this.doc.send(
          new UpdateCommand(this.rewrite(transaction, expect.previousFingerprint)),
        );
      }
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * A changed transaction replaces every stored field (an absent optional one, `removedAt`
   * included, is removed) except `firstSeenAt`, which keeps the first sighting. It is an update
   * rather than a put only for that; it costs the same single write unit. The condition holds
   * only if nobody rewrote the item since its fingerprint was read.
   */
  private rewrite(transaction: StoredTransaction, previousFingerprint: string) {
    const { accountId, sk, ...fields } = toItem(transaction);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':previous': previousFingerprint };
    const set: string[] = [];
    const remove: string[] = [];
    for (const [attribute, value] of Object.entries(fields)) {
      const name = `#${attribute}`;
      names[name] = attribute;
      if (value === undefined) {
        remove.push(name);
      } else {
        values[`:${attribute}`] = value;
        set.push(
          attribute === 'firstSeenAt'
            ? `${name} = if_not_exists(${name}, :${attribute})`
            : `${name} = :${attribute}`,
        );
      }
    }
    const removeClause = remove.length > 0 ? ` REMOVE ${remove.join(', ')}` : '';
    return {
      TableName: this.tableName,
      Key: { accountId, sk },
      UpdateExpression: `SET ${set.join(', ')}${removeClause}`,
      ConditionExpression: '#fingerprint = :previous',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  async listCreatedBetween(
    accountId: string,
    from: string,
    to: string,
  ): Promise<StoredTransactionState[]> {
    const states: StoredTransactionState[] = [];
    let startKey: StartKey | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'accountId = :accountId AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':accountId': accountId, ':from': from, ':to': endOf(to) },
          ...STATE_PROJECTION,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) states.push(toState(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return states;
  }

  async markRemoved(
    accountId: string,
    key: TransactionKey,
    removedAt: string,
    fingerprint: string,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId, sk: transactionSortKey(key) },
          UpdateExpression: 'SET removedAt = :removedAt',
          ConditionExpression: 'fingerprint = :fingerprint',
          ExpressionAttributeValues: { ':removedAt': removedAt, ':fingerprint': fingerprint },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** One page of an account's transactions, newest first, optionally bounded by creation time. */
  async listByAccount(
    accountId: string,
    request: ListTransactionsRequest,
  ): Promise<TransactionPage> {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        ...keyCondition(accountId, request.from, request.to),
        ScanIndexForward: false,
        Limit: request.limit,
        ExclusiveStartKey: request.startKey,
      }),
    );
    const items = (page.Items ?? []).map(fromItem);
    return page.LastEvaluatedKey ? { items, lastKey: page.LastEvaluatedKey } : { items };
  }
}

function keyCondition(
  accountId: string,
  from: string | undefined,
  to: string | undefined,
): Pick<QueryCommandInput, 'KeyConditionExpression' | 'ExpressionAttributeValues'> {
  const values: Record<string, unknown> = { ':accountId': accountId };
  let range = '';
  if (from !== undefined && to !== undefined) {
    range = ' AND sk BETWEEN :from AND :to';
  } else if (from !== undefined) {
    range = ' AND sk >= :from';
  } else if (to !== undefined) {
    range = ' AND sk <= :to';
  }
  if (from !== undefined) values[':from'] = from;
  if (to !== undefined) values[':to'] = endOf(to);
  return {
    KeyConditionExpression: `accountId = :accountId${range}`,
    ExpressionAttributeValues: values,
  };
}
