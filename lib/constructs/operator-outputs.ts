import { CfnOutput, type Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  dlqOutputKey,
  FAN_OUT_FUNCTION_OUTPUT,
  OPERATED_TABLES,
  queueOutputKey,
  tableOutputKey,
} from '../outputs';
import type { QueuePair } from './queue';

/** What `npm run ops` needs to find in the deployed stack. */
export interface OperatorResources {
  /** The tables of lib/outputs.ts OPERATED_TABLES, by their definition's construct id. */
  readonly tables: ReadonlyMap<string, ITable>;
  /** Every queue with a DLQ, for `redrive`. */
  readonly queues: readonly QueuePair[];
  readonly fanOut: IFunction;
}

/**
 * Adds the stack outputs the operator CLI reads, on the stack itself so that their keys are
 * exactly those of lib/outputs.ts.
 */
export function addOperatorOutputs(stack: Stack, resources: OperatorResources): void {
  for (const def of Object.values(OPERATED_TABLES)) {
    const table = resources.tables.get(def.id);
    if (!table) throw new Error(`no table ${def.id} for the operator outputs`);
    new CfnOutput(stack, tableOutputKey(def), {
      value: table.tableName,
      description: `${def.id} table (npm run ops)`,
    });
  }
  for (const pair of resources.queues) {
    new CfnOutput(stack, queueOutputKey(pair.def), {
      value: pair.queue.queueUrl,
      description: `${pair.def.name} queue (npm run ops -- redrive --queue ${pair.def.name})`,
    });
    new CfnOutput(stack, dlqOutputKey(pair.def), {
      value: pair.dlq.queueUrl,
      description: `${pair.def.name} dead-letter queue`,
    });
  }
  new CfnOutput(stack, FAN_OUT_FUNCTION_OUTPUT, {
    value: resources.fanOut.functionName,
    description: 'fan-out function (npm run ops -- fan-out)',
  });
}
