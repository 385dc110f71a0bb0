/**
 * The stack outputs operators' tools read (`npm run ops` finds the deployed tables, queues and
 * fan-out function through them). The stack writes them, the CLI reads them: both use these
 * keys. Like resources.ts it imports nothing from aws-cdk-lib.
 */
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  type QueueDef,
  SYNC_RUNS_TABLE,
  type TableDef,
} from './resources';

/** The tables the operator commands read and write. */
export const OPERATED_TABLES = {
  accounts: ACCOUNTS_TABLE,
  syncRuns: SYNC_RUNS_TABLE,
  control: CONTROL_TABLE,
} as const;

/** Output key of a table's name, e.g. `AccountsTableName`. */
export const tableOutputKey = (table: TableDef) => `${table.id}TableName`;

/** Output key of a queue's URL, e.g. `SyncQueueUrl`. */
export const queueOutputKey = (queue: QueueDef) => `${queue.id}Url`;

/** Output key of a queue's DLQ URL, e.g. `SyncQueueDlqUrl`. */
export const dlqOutputKey = (queue: QueueDef) => `${queue.id}DlqUrl`;

/** Output key of the fan-out function's name. */
export const FAN_OUT_FUNCTION_OUTPUT = 'FanOutFunctionName';
