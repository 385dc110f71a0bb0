import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  IDEMPOTENCY_TABLE,
  type KeyDef,
  SYNC_RUNS_TABLE,
  TABLES,
  type TableDef,
  TRANSACTIONS_TABLE,
} from '../resources';

/** Props of {@link Data}. */
export interface DataProps {
  /** Customer-managed key for every table; absent means the AWS-managed DynamoDB key. */
  readonly encryptionKey?: IKey;
}

const attribute = (key: KeyDef) => ({
  name: key.name,
  type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
});

/**
 * The tables of lib/resources.ts: on-demand (the daily fan-out is one burst a day, which
 * provisioned capacity would have to be sized for all day), encrypted at rest, with
 * point-in-time recovery, and retained when the stack goes away.
 */
export class Data extends Construct {
  readonly accounts: Table;
  readonly transactions: Table;
  readonly syncRuns: Table;
  readonly control: Table;
  readonly idempotency: Table;
  /** Every table by its definition's construct id. */
  readonly tables: ReadonlyMap<string, Table>;

  constructor(scope: Construct, id: string, props: DataProps = {}) {
    super(scope, id);
    const tables = new Map<string, Table>();
    for (const def of TABLES) tables.set(def.id, this.createTable(def, props));
    this.tables = tables;
    this.accounts = tables.get(ACCOUNTS_TABLE.id)!;
    this.transactions = tables.get(TRANSACTIONS_TABLE.id)!;
    this.syncRuns = tables.get(SYNC_RUNS_TABLE.id)!;
    this.control = tables.get(CONTROL_TABLE.id)!;
    this.idempotency = tables.get(IDEMPOTENCY_TABLE.id)!;
  }

  private createTable(def: TableDef, props: DataProps): Table {
    const table = new Table(this, def.id, {
      partitionKey: attribute(def.partitionKey),
      sortKey: def.sortKey ? attribute(def.sortKey) : undefined,
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: props.encryptionKey
        ? TableEncryption.CUSTOMER_MANAGED
        : TableEncryption.AWS_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: def.timeToLiveAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of def.globalIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey ? attribute(index.sortKey) : undefined,
        projectionType:
          index.projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
      });
    }
    return table;
  }
}
