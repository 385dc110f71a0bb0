/**
 * The stack outputs `npm run ops` reads against AWS: one per table, queue, DLQ and the fan-out
 * function, under the keys of lib/outputs.ts, each pointing at the right resource.
 */
import type { CfnResource } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import {
  dlqOutputKey,
  FAN_OUT_FUNCTION_OUTPUT,
  OPERATED_TABLES,
  queueOutputKey,
  tableOutputKey,
} from '../../lib/outputs';
import { QUEUES } from '../../lib/resources';
import { buildStack } from './stack';

const { stack, template } = buildStack();
const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnResource);

describe('operator outputs', () => {
  it.each(Object.values(OPERATED_TABLES))('names the $id table', (def) => {
    const table = stack.data.tables.get(def.id);

    expect(outputs[tableOutputKey(def)]?.Value).toEqual({ Ref: idOf(table as never) });
  });

  it.each(QUEUES.map((def) => [def.name, def] as const))(
    'gives the URLs of the %s queue and its DLQ',
    (_name, def) => {
      const queue = outputs[queueOutputKey(def)]?.Value as { Ref: string };
      const dlq = outputs[dlqOutputKey(def)]?.Value as { Ref: string };

      expect(queue.Ref).toMatch(new RegExp(`${def.id}[0-9A-F]{8}$`));
      expect(dlq.Ref).toMatch(new RegExp(`${def.id}Dlq[0-9A-F]{8}$`));
    },
  );

  it('names the fan-out function', () => {
    expect(outputs[FAN_OUT_FUNCTION_OUTPUT]?.Value).toEqual({ Ref: idOf(stack.pipeline.fanOut) });
  });
});
