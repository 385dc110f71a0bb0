/**
 * The single bridge from lib/resources.ts to a local DynamoDB engine: the local stack and every
 * integration test start dynalite and build their tables here, so the key design the adapters
 * rely on is the one CDK deploys.
 */
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type KeySchemaElement,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { type KeyDef, TABLES, type TableDef } from '../../lib/resources';
import { closeServer, listen } from '../net';

export interface DynaliteOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Directory to persist the data to; in memory when absent. */
  path?: string;
}

export interface RunningDynalite {
  endpoint: string;
  close(): Promise<void>;
}

/** Starts dynalite on loopback with tables that become ACTIVE at once. */
export async function startDynalite(options: DynaliteOptions = {}): Promise<RunningDynalite> {
  const host = options.host ?? '127.0.0.1';
  const server = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const port = await listen(server, options.port ?? 0, host);
  return { endpoint: `http://${host}:${port}`, close: () => closeServer(server) };
}

function keySchema(partitionKey: KeyDef, sortKey?: KeyDef): KeySchemaElement[] {
  return [
    { AttributeName: partitionKey.name, KeyType: 'HASH' },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
}

/** The CreateTable request for one table definition: on-demand, its GSIs and their projections. */
export function createTableInput(table: TableDef, tableName: string): CreateTableCommandInput {
  const keys = [table.partitionKey, table.sortKey];
  for (const index of table.globalIndexes) keys.push(index.partitionKey, index.sortKey);
  const attributes = new Map<string, AttributeDefinition>();
  for (const key of keys) {
    if (key) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()],
    KeySchema: keySchema(table.partitionKey, table.sortKey),
    ...(table.globalIndexes.length > 0
      ? {
          GlobalSecondaryIndexes: table.globalIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: index.projection },
          })),
        }
      : {}),
  };
}

export interface CreateTablesResult {
  created: string[];
  /** Tables that were already there and were left as they are. */
  existing: string[];
  /** Tables with a TTL attribute on an engine without UpdateTimeToLive (dynalite). */
  ttlUnsupported: string[];
}

/**
 * Creates the tables that do not exist yet and waits until they are ACTIVE, then enables TTL
 * where the definition asks for it and the engine supports it. Safe to run again.
 */
export async function createTables(
  client: DynamoDBClient,
  tables: readonly TableDef[] = TABLES,
  nameOf: (table: TableDef) => string = (table) => table.localName,
): Promise<CreateTablesResult> {
  const result: CreateTablesResult = { created: [], existing: [], ttlUnsupported: [] };
  const present = await listTableNames(client);
  for (const table of tables) {
    const name = nameOf(table);
    if (present.has(name)) {
      result.existing.push(name);
    } else {
      try {
        await client.send(new CreateTableCommand(createTableInput(table, name)));
        result.created.push(name);
      } catch (error) {
        // Another process created it between the listing and this call.
        if ((error as Error).name !== 'ResourceInUseException') throw error;
        result.existing.push(name);
      }
    }
    await waitUntilActive(client, name);
    if (table.timeToLiveAttribute && !(await enableTimeToLive(client, name, table))) {
      result.ttlUnsupported.push(name);
    }
  }
  return result;
}

async function listTableNames(client: DynamoDBClient): Promise<Set<string>> {
  const names = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) names.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);
  return names;
}

const ACTIVE_POLL_MS = 20;
const ACTIVE_TIMEOUT_MS = 60_000;

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + ACTIVE_TIMEOUT_MS;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    );
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, ACTIVE_POLL_MS));
  }
}

/** Returns false when the engine has no TTL (dynalite answers UnknownOperationException). */
async function enableTimeToLive(
  client: DynamoDBClient,
  tableName: string,
  table: TableDef,
): Promise<boolean> {
  const attribute = table.timeToLiveAttribute;
  const { TimeToLiveDescription: current } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  const enabled =
    current?.TimeToLiveStatus === 'ENABLED' || current?.TimeToLiveStatus === 'ENABLING';
  // DynamoDB refuses to re-enable TTL that is already on, so an idempotent setup must ask first.
  if (enabled && current?.AttributeName === attribute) return true;
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === 'UnknownOperationException') return false;
    throw error;
  }
}
