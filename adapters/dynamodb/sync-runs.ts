import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SyncRun } from '../../core/model';
import type { SyncRunStore } from '../../core/ports';
import type { StartKey } from './expressions';

const SECONDS_PER_DAY = 86_400;

export interface ListSyncRunsRequest {
  limit: number;
  startKey?: StartKey;
}

export interface SyncRunPage {
  /** Newest first. */
  items: SyncRun[];
  lastKey?: StartKey;
}

type SyncRunItem = SyncRun & { sk: string; expiresAt: number };

/** Sync-run records keyed by (accountId, `startedAt#runId`), deleted by TTL after `ttlDays`. */
export class DynamoSyncRunStore implements SyncRunStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly ttlDays = 30,
  ) {}

  /** Stores a run; recording the same run again overwrites it. */
  async record(run: SyncRun): Promise<void> {
    const item: SyncRunItem = {
      ...run,
      sk: `${run.startedAt}#${run.runId}`,
      // DynamoDB TTL reads epoch seconds; counted from the start so the key and expiry agree.
      expiresAt: Math.floor(Date.parse(run.startedAt) / 1000) + this.ttlDays * SECONDS_PER_DAY,
    };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /** One page of an account's runs, newest first. */
  async listByAccount(accountId: string, request: ListSyncRunsRequest): Promise<SyncRunPage> {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'accountId = :accountId',
        ExpressionAttributeValues: { ':accountId': accountId },
        ScanIndexForward: false,
        Limit: request.limit,
        ExclusiveStartKey: request.startKey,
      }),
    );
    const items = (page.Items ?? []).map((item) => {
      const { sk: _sk, expiresAt: _expiresAt, ...run } = item as SyncRunItem;
      return run;
    });
    return page.LastEvaluatedKey ? { items, lastKey: page.LastEvaluatedKey } : { items };
  }
}
