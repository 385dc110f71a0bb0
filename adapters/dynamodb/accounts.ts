import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Account } from '../../core/model';
import {
  type AccountLeases,
  type AccountPatch,
  type Clock,
  LeaseLostError,
  type LeaseRequest,
  type LeaseResult,
  systemClock,
} from '../../core/ports';
import { ACCOUNTS_TABLE } from '../../lib/resources';
import {
  batchGetAll,
  isConditionFailure,
  patchExpression,
  type StartKey,
  valuesOrUndefined,
} from './expressions';

const BY_OWNER_INDEX = ACCOUNTS_TABLE.globalIndexes[0]?.indexName ?? 'byOwner';

/** The fields the fan-out needs to queue a sync. */
export type DueAccount = Pick<Account, 'accountId' | 'ownerId' | 'dueAt' | 'syncStatus'>;

export interface ScanDueRequest {
  segment: number;
  totalSegments: number;
  /** Accounts with `dueAt` at or before this instant are due. */
  dueBy: string;
  /** Items read by this call (DynamoDB's Scan `Limit`), not items returned. */
  limit?: number;
  startKey?: StartKey;
}

export interface ScanDuePage {
  accounts: DueAccount[];
  /** Present while the segment has more to read; a page may be empty and still have one. */
  lastKey?: StartKey;
}

/**
 * A precondition of {@link DynamoAccountStore.update}. `path` names an attribute, with dots
 * for members of a map (`reauth.episode`).
 */
export type AccountCondition =
  | { path: string; equals: string | number | boolean }
  | { path: string; exists: boolean };

export type AccountUpdateResult =
  | { updated: true; account: Account }
  /** `account` is the item as it is now, absent when there is no such account. */
  | { updated: false; account?: Account };

/**
 * Accounts in DynamoDB. Every write is one request; the lease operations are the fencing the
 * sync engine relies on, the rest serves the API, the fan-out, the notifier and operators.
 */
export class DynamoAccountStore implements AccountLeases {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Stamps `updatedAt` when a patch does not carry one. */
    private readonly clock: Clock = systemClock,
  ) {}

  /** One account, or undefined; `consistent` reads the latest write. */
  async get(accountId: string, consistent = false): Promise<Account | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { accountId }, ConsistentRead: consistent }),
    );
    return Item as Account | undefined;
  }

  /** Stores a new account; false when the id is already taken. */
  async create(account: Account): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: account,
          ConditionExpression: 'attribute_not_exists(accountId)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async acquireLease(request: LeaseRequest): Promise<LeaseResult> {
    const now = request.now.toISOString();
    const leaseExpiresAt = new Date(request.now.getTime() + request.leaseMs).toISOString();
    // The whole admission rule sits in one condition so that two racing syncs are decided by
    // DynamoDB, not by a read that both of them could pass.
    const condition = [
      'attribute_exists(accountId)',
      'syncStatus <> :authRequired',
      '(attribute_not_exists(leaseOwner) OR leaseExpiresAt < :now)',
      ...(request.dueBy !== undefined ? ['dueAt <= :dueBy'] : []),
    ].join(' AND ');
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId: request.accountId },
          UpdateExpression:
            'SET leaseOwner = :owner, leaseExpiresAt = :leaseExpiresAt, lastAttemptAt = :now',
          ConditionExpression: condition,
          ExpressionAttributeValues: {
            ':owner': request.owner,
            ':leaseExpiresAt': leaseExpiresAt,
            ':now': now,
            ':authRequired': 'auth_required',
            ...(request.dueBy !== undefined ? { ':dueBy': request.dueBy } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { acquired: true, account: Attributes as Account };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { acquired: false, reason: await this.refusalReason(request) };
    }
  }

  /**
   * dynalite ignores ReturnValuesOnConditionCheckFailure, so the reason comes from a second,
   * consistent read. The item may have changed in between; when it shows no reason any more, the
   * lease was held at the moment of the write and `busy` is the honest answer.
   */
  private async refusalReason(
    request: LeaseRequest,
  ): Promise<'busy' | 'not_due' | 'not_found' | 'auth_required'> {
    const account = await this.get(request.accountId, true);
    if (account === undefined) return 'not_found';
    if (account.syncStatus === 'auth_required') return 'auth_required';
    // The first clause of the condition, in its order, that the item now fails.
    const leaseHeld =
      account.leaseOwner !== undefined &&
      (account.leaseExpiresAt === undefined || account.leaseExpiresAt >= request.now.toISOString());
    if (leaseHeld) return 'busy';
    if (request.dueBy !== undefined && account.dueAt > request.dueBy) return 'not_due';
    return 'busy';
  }

  async checkpoint(
    accountId: string,
    owner: string,
    cursor: string,
    leaseExpiresAt: string,
  ): Promise<void> {
    await this.fenced(accountId, {
      TableName: this.tableName,
      Key: { accountId },
      UpdateExpression: 'SET #cursor = :cursor, leaseExpiresAt = :leaseExpiresAt',
      ConditionExpression: 'leaseOwner = :owner',
      ExpressionAttributeNames: { '#cursor': 'cursor' },
      ExpressionAttributeValues: {
        ':cursor': cursor,
        ':leaseExpiresAt': leaseExpiresAt,
        ':owner': owner,
      },
    });
  }

  async release(accountId: string, owner: string, patch: AccountPatch): Promise<void> {
    const update = patchExpression({
      ...patch,
      updatedAt: patch.updatedAt ?? this.clock.now().toISOString(),
      leaseOwner: null,
      leaseExpiresAt: null,
    });
    await this.fenced(accountId, {
      TableName: this.tableName,
      Key: { accountId },
      UpdateExpression: update.expression,
      ConditionExpression: 'leaseOwner = :owner',
      ExpressionAttributeNames: update.names,
      ExpressionAttributeValues: { ...update.values, ':owner': owner },
    });
  }

  private async fenced(
    accountId: string,
    input: ConstructorParameters<typeof UpdateCommand>[0],
  ): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand(input));
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseLostError(accountId);
      throw error;
    }
  }

  /**
   * Applies a patch outside the sync lease (settings, notification marks, operator fixes) in one
   * conditional update. It never creates an account, and every given condition must hold too.
   * On a refused condition it reads the account once so the caller can tell "gone" from "changed".
   * It is not fenced by the lease: where a running sync's release sets the same field, the write
   * that lands last wins.
   */
  async update(
    accountId: string,
    patch: AccountPatch,
    conditions: AccountCondition[] = [],
  ): Promise<AccountUpdateResult> {
    const update = patchExpression({
      ...patch,
      updatedAt: patch.updatedAt ?? this.clock.now().toISOString(),
    });
    const names: Record<string, string> = { ...update.names };
    const values: Record<string, unknown> = { ...update.values };
    const clauses = ['attribute_exists(accountId)'];
    conditions.forEach((condition, i) => {
      const path = condition.path
        .split('.')
        .map((segment, j) => {
          names[`#c${i}_${j}`] = segment;
          return `#c${i}_${j}`;
        })
        .join('.');
      if ('equals' in condition) {
        values[`:c${i}`] = condition.equals;
        clauses.push(`${path} = :c${i}`);
      } else {
        clauses.push(`${condition.exists ? 'attribute_exists' : 'attribute_not_exists'}(${path})`);
      }
    });
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: update.expression,
          ConditionExpression: clauses.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: valuesOrUndefined(values),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { updated: true, account: Attributes as Account };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const account = await this.get(accountId, true);
      return account === undefined ? { updated: false } : { updated: false, account };
    }
  }

  /** All accounts of one owner, ordered by account id. */
  async listByOwner(ownerId: string): Promise<Account[]> {
    const keys: StartKey[] = [];
    let startKey: StartKey | undefined;
    do {
      // The index is KEYS_ONLY (see lib/resources.ts), so it yields ids and the items follow.
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BY_OWNER_INDEX,
          KeyConditionExpression: 'ownerId = :ownerId',
          ExpressionAttributeValues: { ':ownerId': ownerId },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) keys.push({ accountId: item.accountId });
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const accounts = await batchGetAll<Account>(this.doc, this.tableName, keys);
    // The index is eventually consistent; trust the item, not the index entry, about the owner.
    return accounts
      .filter((account) => account.ownerId === ownerId)
      .sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
  }

  /**
   * One page of one parallel-scan segment: accounts due by `dueBy`, except those waiting for a
   * re-link. Accounts in backoff are not due (their `dueAt` is the backoff's end). A leased
   * account is returned: its lease may belong to a sync that crashed, and the queued message is
   * a cheap no-op if the sync is alive.
   */
  async scanDueSegment(request: ScanDueRequest): Promise<ScanDuePage> {
    const page = await this.doc.send(
      new ScanCommand({
        TableName: this.tableName,
        Segment: request.segment,
        TotalSegments: request.totalSegments,
        FilterExpression: 'dueAt <= :dueBy AND syncStatus <> :authRequired',
        ProjectionExpression: 'accountId, ownerId, dueAt, syncStatus',
        ExpressionAttributeValues: { ':dueBy': request.dueBy, ':authRequired': 'auth_required' },
        Limit: request.limit,
        ExclusiveStartKey: request.startKey,
      }),
    );
    const accounts = (page.Items ?? []) as DueAccount[];
    return page.LastEvaluatedKey ? { accounts, lastKey: page.LastEvaluatedKey } : { accounts };
  }
}
