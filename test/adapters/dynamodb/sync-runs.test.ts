import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSyncRunStore } from '../../../adapters/dynamodb/sync-runs';
import { startTestDynamo, syncRunFactory, type TestDynamo } from '../../support/dynamo';

let dynamo: TestDynamo;
let store: DynamoSyncRunStore;

beforeAll(async () => {
  dynamo = await startTestDynamo('sync-runs');
  store = new DynamoSyncRunStore(dynamo.doc, dynamo.tables.syncRuns, 7);
});

afterAll(async () => {
  await dynamo.close();
});

describe('DynamoSyncRunStore.record', () => {
  it('stores the run under startedAt#runId with an expiry ttlDays after its start', async () => {
    const run = syncRunFactory({
      accountId: 'acc-ttl',
      startedAt: '2026-03-01T06:00:00.000Z',
      errorCode: 'transient:SERVICE_UNAVAILABLE',
    });

    await store.record(run);

    const { Item } = await dynamo.doc.send(
      new GetCommand({
        TableName: dynamo.tables.syncRuns,
        Key: { accountId: 'acc-ttl', sk: `2026-03-01T06:00:00.000Z#${run.runId}` },
      }),
    );
    expect(Item).toEqual({
      ...run,
      sk: `2026-03-01T06:00:00.000Z#${run.runId}`,
      expiresAt: Date.parse('2026-03-08T06:00:00.000Z') / 1000,
    });
  });

  it('overwrites a run recorded twice instead of keeping two', async () => {
    const run = syncRunFactory({ accountId: 'acc-twice', outcome: 'partial' });

    await store.record(run);
    await store.record({ ...run, outcome: 'synced' });

    const page = await store.listByAccount('acc-twice', { limit: 10 });
    expect(page.items).toEqual([{ ...run, outcome: 'synced' }]);
  });
});

describe('DynamoSyncRunStore.listByAccount', () => {
  it("pages through one account's runs newest first, without storage fields", async () => {
    const starts = ['01', '02', '03', '04', '05'].map((day) => `2026-03-${day}T06:00:00.000Z`);
    const runs = starts.map((startedAt) => syncRunFactory({ accountId: 'acc-list', startedAt }));
    await Promise.all(
      [...runs, syncRunFactory({ accountId: 'acc-other' })].map((run) => store.record(run)),
    );

    const pages: unknown[][] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await store.listByAccount('acc-list', { limit: 2, startKey });
      pages.push(page.items);
      startKey = page.lastKey;
    } while (startKey);

    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual([...runs].reverse());
  });

  it('lists nothing for an account without runs', async () => {
    expect(await store.listByAccount('acc-none', { limit: 5 })).toEqual({ items: [] });
  });
});
