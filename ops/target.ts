/**
 * Where an operator command runs: the deployed stack (found through its CloudFormation outputs,
 * with the usual AWS credentials chain) or the local stack (found through the state file
 * `npm start` writes). Either way the commands get the same clients and names.
 */
import { resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../adapters/dynamodb/client';
import {
  dlqOutputKey,
  FAN_OUT_FUNCTION_OUTPUT,
  OPERATED_TABLES,
  queueOutputKey,
  tableOutputKey,
} from '../lib/outputs';
import { QUEUES } from '../lib/resources';
import { DEFAULT_ENDPOINTS_FILE, ENDPOINTS_FILE_ENV, readLocalEndpoints } from '../local/operators';
import type { TargetArgs } from './args';

export interface QueueUrls {
  url: string;
  dlqUrl: string;
}

/** The clients and resource names a command works with. */
export interface OpsTarget {
  /** For messages: `stack MomoSync` or `the local stack`. */
  description: string;
  doc: DynamoDBDocumentClient;
  sqs: SQSClient;
  lambda: LambdaClient;
  tables: { accounts: string; syncRuns: string; control: string };
  /** By queue name (`sync`, `manual`, `fanout`, `notify`). */
  queues: Record<string, QueueUrls>;
  fanOutFunction: string;
  /**
   * Long-poll wait of each receive: a short poll on SQS may miss messages, while local-aws-sqs
   * holds a receive for the whole wait unless the batch fills.
   */
  receiveWaitSeconds: number;
  close(): void;
}

/** Opens a target; commands get it only after their input was checked. */
export type OpenTarget = (args: TargetArgs) => Promise<OpsTarget>;

/** A target that cannot be reached or read: exit 1 with this message. */
export class TargetError extends Error {
  override name = 'TargetError';
}

/** The deployed stack's name: `--stack`, else `MomoSync-<stage>`, else `MomoSync`. */
export function stackName(args: TargetArgs): string {
  return args.stack ?? (args.stage ? `MomoSync-${args.stage}` : 'MomoSync');
}

/** Opens the target the arguments name. */
export const openTarget: OpenTarget = (args) => (args.local ? openLocal() : openAws(args));

async function openLocal(): Promise<OpsTarget> {
  const file = resolve(process.env[ENDPOINTS_FILE_ENV] ?? DEFAULT_ENDPOINTS_FILE);
  let endpoints: Awaited<ReturnType<typeof readLocalEndpoints>>;
  try {
    endpoints = await readLocalEndpoints(file);
  } catch (error) {
    throw new TargetError((error as Error).message);
  }
  // The local engines accept any credentials; fixed ones keep a developer's real ones unused.
  const local = {
    region: endpoints.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const doc = createDocumentClient({ endpoint: endpoints.dynamodb, region: endpoints.region });
  const sqs = new SQSClient({ ...local, endpoint: endpoints.sqs });
  const lambda = new LambdaClient({ ...local, endpoint: endpoints.lambda });
  return {
    description: `the local stack (pid ${endpoints.pid})`,
    doc,
    sqs,
    lambda,
    tables: endpoints.tables,
    queues: endpoints.queues,
    fanOutFunction: endpoints.functions.fanOut,
    receiveWaitSeconds: 0,
    close: () => {
      doc.destroy();
      sqs.destroy();
      lambda.destroy();
    },
  };
}

async function openAws(args: TargetArgs): Promise<OpsTarget> {
  const name = stackName(args);
  const region = args.region ? { region: args.region } : {};
  const cloudFormation = new CloudFormationClient(region);
  let outputs: Map<string, string>;
  try {
    const { Stacks = [] } = await cloudFormation.send(
      new DescribeStacksCommand({ StackName: name }),
    );
    outputs = new Map(
      (Stacks[0]?.Outputs ?? []).map((output) => [
        output.OutputKey ?? '',
        output.OutputValue ?? '',
      ]),
    );
  } catch (error) {
    throw new TargetError(`cannot read stack ${name}: ${(error as Error).message}`);
  } finally {
    cloudFormation.destroy();
  }
  const output = (key: string) => {
    const value = outputs.get(key);
    if (!value) {
      throw new TargetError(`stack ${name} has no output ${key}: deploy the current version first`);
    }
    return value;
  };
  const tables = {
    accounts: output(tableOutputKey(OPERATED_TABLES.accounts)),
    syncRuns: output(tableOutputKey(OPERATED_TABLES.syncRuns)),
    control: output(tableOutputKey(OPERATED_TABLES.control)),
  };
  const queues = Object.fromEntries(
    QUEUES.map((def) => [
      def.name,
      { url: output(queueOutputKey(def)), dlqUrl: output(dlqOutputKey(def)) },
    ]),
  );
  const fanOutFunction = output(FAN_OUT_FUNCTION_OUTPUT);
  const doc = createDocumentClient(region);
  const sqs = new SQSClient(region);
  const lambda = new LambdaClient(region);
  return {
    description: `stack ${name}`,
    doc,
    sqs,
    lambda,
    tables,
    queues,
    fanOutFunction,
    receiveWaitSeconds: 1,
    close: () => {
      doc.destroy();
      sqs.destroy();
      lambda.destroy();
    },
  };
}
