import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoClient } from '../../../adapters/dynamodb/client';
import { SYNC_RUNS_TABLE, TABLES, type TableDef } from '../../../lib/resources';
import {
  type CreateTablesResult,
  createTables,
  type RunningDynalite,
  startDynalite,
} from '../../../local/engines/dynamo';

const nameOf = (table: TableDef) => `engine-${table.localName}`;

describe('createTables on dynalite', () => {
  let engine: RunningDynalite;
  let client: DynamoDBClient;
  let first: CreateTablesResult;

  beforeAll(async () => {
    engine = await startDynalite();
    client = createDynamoClient({ endpoint: engine.endpoint });
    first = await createTables(client, TABLES, nameOf);
  });

  afterAll(async () => {
    client.destroy();
    await engine.close();
  });

  it('creates every table of lib/resources.ts', () => {
    expect(first.created).toEqual(TABLES.map(nameOf));
    expect(first.existing).toEqual([]);
  });

  it.each(TABLES.map((table) => [table.id, table] as const))(
    'builds %s with the key schema, indexes and billing of its definition',
    async (_id, table) => {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: nameOf(table) }));

      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(Table?.KeySchema).toEqual([
        { AttributeName: table.partitionKey.name, KeyType: 'HASH' },
        ...(table.sortKey ? [{ AttributeName: table.sortKey.name, KeyType: 'RANGE' }] : []),
      ]);
      const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
        indexName: index.IndexName,
        keys: index.KeySchema?.map((key) => `${key.KeyType}:${key.AttributeName}`),
        projection: index.Projection?.ProjectionType,
      }));
      expect(indexes).toEqual(
        table.globalIndexes.map((index) => ({
          indexName: index.indexName,
          keys: [
            `HASH:${index.partitionKey.name}`,
            ...(index.sortKey ? [`RANGE:${index.sortKey.name}`] : []),
          ],
          projection: index.projection,
        })),
      );
      const keyDefs = [
        table.partitionKey,
        table.sortKey,
        ...table.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
      ];
      const expectedAttributes = new Map(
        keyDefs.filter((key) => key !== undefined).map((key) => [key.name, key.type]),
      );
      expect(
        new Map(Table?.AttributeDefinitions?.map((a) => [a.AttributeName, a.AttributeType])),
      ).toEqual(expectedAttributes);
    },
  );

  it('reports the TTL it could not enable, since dynalite has no UpdateTimeToLive', () => {
    const withTtl = TABLES.filter((table) => table.timeToLiveAttribute).map(nameOf);

    expect(first.ttlUnsupported).toEqual(withTtl);
  });

  it('leaves existing tables alone when run again', async () => {
    const again = await createTables(client, TABLES, nameOf);

    expect(again.created).toEqual([]);
    expect(again.existing).toEqual(TABLES.map(nameOf));
  });
});

describe('createTables on an engine with TTL', () => {
  // Created in beforeAll: mockClient patches every DynamoDBClient, the dynalite suite's too.
  let ddb: ReturnType<typeof mockClient>;

  beforeAll(() => {
    ddb = mockClient(DynamoDBClient);
    ddb.on(ListTablesCommand).resolves({ TableNames: [] });
    ddb.on(CreateTableCommand).resolves({});
    ddb.on(DescribeTableCommand).resolves({ Table: { TableStatus: 'ACTIVE' } });
  });

  afterAll(() => {
    ddb.restore();
  });

  it('enables TTL on the attribute of the definition', async () => {
    ddb.on(DescribeTimeToLiveCommand).resolves({
      TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' },
    });
    ddb.on(UpdateTimeToLiveCommand).resolves({});

    const result = await createTables(new DynamoDBClient({}), [SYNC_RUNS_TABLE], nameOf);

    expect(result.ttlUnsupported).toEqual([]);
    expect(ddb.commandCalls(UpdateTimeToLiveCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: nameOf(SYNC_RUNS_TABLE),
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    ]);
  });

  it('does not enable TTL again when it is already on', async () => {
    ddb.resetHistory();
    ddb.on(DescribeTimeToLiveCommand).resolves({
      TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' },
    });

    await createTables(new DynamoDBClient({}), [SYNC_RUNS_TABLE], nameOf);

    expect(ddb.commandCalls(UpdateTimeToLiveCommand)).toHaveLength(0);
  });
});
