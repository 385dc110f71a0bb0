import { type ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface DynamoClientOptions {
  /** Endpoint of a local engine (dynalite); absent means the AWS endpoint of the region. */
  endpoint?: string;
  region?: string;
  /** When given, every data-plane request asks for and is charged to this counter. */
  capacity?: CapacityCounter;
}

/** Operations whose input accepts `ReturnConsumedCapacity`, with the kind of units they spend. */
const METERED: Record<string, 'read' | 'write'> = {
  GetItem: 'read',
  BatchGetItem: 'read',
  Query: 'read',
  Scan: 'read',
  TransactGetItems: 'read',
  PutItem: 'write',
  UpdateItem: 'write',
  DeleteItem: 'write',
  BatchWriteItem: 'write',
  TransactWriteItems: 'write',
};

export interface TableUsage {
  readUnits: number;
  writeUnits: number;
  /** Conditional writes refused by their condition; see {@link CapacityCounter}. */
  conditionalFailures: number;
}

export interface CapacitySnapshot {
  /** Usage per table name, as the engine reported it. */
  tables: Record<string, TableUsage>;
  /** Requests per operation (`PutItem`, `Query`, ...), failed ones included. */
  requests: Record<string, number>;
}

/**
 * Sums the capacity DynamoDB reports and counts requests, for the benchmark's cost figures.
 *
 * What the engines report (checked against dynalite 4.0.0 and the DynamoDB API reference):
 * - dynalite answers PutItem, UpdateItem and DeleteItem with `{ TableName, CapacityUnits }`, where
 *   the units are the larger of the old and the new item size rounded up to 1 KB (so 1 for our
 *   items), and reads with 4 KB units, halved when eventually consistent. It has no
 *   `ReadCapacityUnits`/`WriteCapacityUnits` split, so units are attributed to read or write by
 *   the operation that spent them.
 * - dynalite never counts index writes; DynamoDB includes them in `CapacityUnits` with `TOTAL`.
 * - A failed conditional write comes back as `ConditionalCheckFailedException` with no
 *   `ConsumedCapacity` from either engine, yet DynamoDB bills it (1 WCU for an item up to 1 KB).
 *   Those are counted in `conditionalFailures` so a report can add them; they are not in
 *   `writeUnits`.
 */
export class CapacityCounter {
  private readonly tables = new Map<string, TableUsage>();
  private readonly requestCounts = new Map<string, number>();

  /** Adds the units one response reported; `kind` decides where bare `CapacityUnits` go. */
  record(
    kind: 'read' | 'write',
    consumed: ConsumedCapacity | ConsumedCapacity[] | undefined,
  ): void {
    const entries = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
    for (const entry of entries) {
      const usage = this.usage(entry.TableName ?? 'unknown');
      const units = entry.CapacityUnits ?? 0;
      usage.readUnits += entry.ReadCapacityUnits ?? (kind === 'read' ? units : 0);
      usage.writeUnits += entry.WriteCapacityUnits ?? (kind === 'write' ? units : 0);
    }
  }

  /** Counts one request of an operation. */
  countRequest(operation: string): void {
    this.requestCounts.set(operation, (this.requestCounts.get(operation) ?? 0) + 1);
  }

  /** Counts one write refused by its condition. */
  countConditionalFailure(tableName: string): void {
    this.usage(tableName).conditionalFailures += 1;
  }

  /** Read units of one table, or of all of them. */
  readUnits(tableName?: string): number {
    return this.sum('readUnits', tableName);
  }

  /** Write units of one table, or of all of them (failed conditional writes excluded). */
  writeUnits(tableName?: string): number {
    return this.sum('writeUnits', tableName);
  }

  /** Refused conditional writes of one table, or of all of them. */
  conditionalFailures(tableName?: string): number {
    return this.sum('conditionalFailures', tableName);
  }

  /** Requests of one operation (`PutItem`), or of all of them. */
  requests(operation?: string): number {
    if (operation !== undefined) return this.requestCounts.get(operation) ?? 0;
    let total = 0;
    for (const count of this.requestCounts.values()) total += count;
    return total;
  }

  /** A copy of everything counted so far. */
  snapshot(): CapacitySnapshot {
    return {
      tables: Object.fromEntries([...this.tables].map(([name, usage]) => [name, { ...usage }])),
      requests: Object.fromEntries(this.requestCounts),
    };
  }

  /** Forgets everything counted so far. */
  reset(): void {
    this.tables.clear();
    this.requestCounts.clear();
  }

  /** Installs the counting middleware on a client (a document client shares its stack). */
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const kind = METERED[operation];
        this.countRequest(operation);
        if (kind === undefined) return next(args);
        const input = { ...args.input, ReturnConsumedCapacity: 'TOTAL' as const };
        try {
          const result = await next({ ...args, input });
          const output = result.output as {
            ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[];
          };
          this.record(kind, output.ConsumedCapacity);
          return result;
        } catch (error) {
          if ((error as Error).name === 'ConditionalCheckFailedException') {
            const table = (input as { TableName?: string }).TableName;
            this.countConditionalFailure(table ?? 'unknown');
          }
          throw error;
        }
      },
      // Initialize runs once per call, outside the retry loop: a retried request is one request.
      { step: 'initialize', name: 'momoSyncCapacityCounter', override: true },
    );
  }

  private usage(tableName: string): TableUsage {
    let usage = this.tables.get(tableName);
    if (usage === undefined) {
      usage = { readUnits: 0, writeUnits: 0, conditionalFailures: 0 };
      this.tables.set(tableName, usage);
    }
    return usage;
  }

  private sum(field: keyof TableUsage, tableName?: string): number {
    if (tableName !== undefined) return this.tables.get(tableName)?.[field] ?? 0;
    let total = 0;
    for (const usage of this.tables.values()) total += usage[field];
    return total;
  }
}

/**
 * Set to `1` to meter every client built without a counter of its own into
 * {@link processCapacity}. Only the benchmark sets it, so that it can count the capacity the
 * handlers spend through the clients they build at module load; never set it in a deployment
 * (every request would then ask for ReturnConsumedCapacity for nobody to read).
 */
export const CAPACITY_METER_ENV = 'MOMO_SYNC_METER_CAPACITY';

/** The process-wide counter {@link CAPACITY_METER_ENV} attaches to clients. */
export const processCapacity = new CapacityCounter();

/** A low-level DynamoDB client; static dummy credentials when pointed at a local endpoint. */
export function createDynamoClient(options: DynamoClientOptions = {}): DynamoDBClient {
  const client = new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint
      ? {
          endpoint: options.endpoint,
          // A local engine ignores the signature; fixed keys keep the credential chain from
          // probing the instance metadata service or a profile on the developer's machine.
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
          region: options.region ?? 'us-east-1',
        }
      : {}),
  });
  const capacity =
    options.capacity ?? (process.env[CAPACITY_METER_ENV] === '1' ? processCapacity : undefined);
  capacity?.attach(client);
  return client;
}

/** The document client every adapter takes: native JS values, undefined attributes dropped. */
export function createDocumentClient(options: DynamoClientOptions = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(createDynamoClient(options), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
