/**
 * The local SQS engine (local-aws-sqs, JSON protocol) and the bridge from lib/resources.ts to it:
 * the local stack and the integration tests build their queues here, so the redrive policy and
 * visibility arithmetic are the ones CDK deploys.
 *
 * What local-aws-sqs 2.0.2 does, as read from its source and checked by test/local/sqs.test.ts:
 * - it moves a message to the DLQ by itself when its visibility timeout runs out and its receive
 *   count has reached `maxReceiveCount`, so a consumer needs no redrive of its own;
 * - a ChangeMessageVisibility increments the receive count, so a handler that hands a message
 *   back with a new timeout spends one of its receives (real SQS does not);
 * - ReceiveMessage holds the messages it collected for the whole `WaitTimeSeconds` unless the
 *   batch fills, so consumers should poll with short waits.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createRequestHandler } from 'local-aws-sqs';
import { dlqLocalName, QUEUES, type QueueDef } from '../../lib/resources';
import { closeServer, listen } from '../net';

export const LOCAL_ACCOUNT_ID = '123456789012';
export const LOCAL_REGION = 'us-east-1';

export interface LocalSqsOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  region?: string;
}

export interface RunningSqs {
  endpoint: string;
  port: number;
  /** Requests the engine answered, by operation (`SendMessageBatch`, ...), from every client. */
  requests(): Record<string, number>;
  close(): Promise<void>;
}

/**
 * Starts local-aws-sqs on loopback. It builds its own http server around the package's request
 * handler rather than calling `createSqsServer`, whose `listen` has no error path: a port already
 * taken would crash the process instead of rejecting here.
 */
export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<RunningSqs> {
  const host = options.host ?? '127.0.0.1';
  const { service, requestHandler } = createRequestHandler({
    port: options.port ?? 0,
    hostname: host,
    region: options.region ?? LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    // Tests delete and recreate queues by name; the 60 s cool-down of real SQS only gets in the way.
    emulateQueueCreationLifecycle: false,
  });
  const counts = new Map<string, number>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const operation = operationOf(request);
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    void requestHandler(request, response);
  });
  const port = await listen(server, options.port ?? 0, host);
  // Queue URLs embed the port; the package only learns a picked port inside createSqsServer.
  service.PORT = port;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    requests: () => Object.fromEntries(counts),
    close: async () => {
      // Each queued message holds timers (visibility, retention); clear them with the queues.
      service.resetAll();
      await closeServer(server);
    },
  };
}

/** An SDK client for a local endpoint, with fixed keys so no credential chain is probed. */
export function localSqsClient(endpoint: string, region = LOCAL_REGION): SQSClient {
  return new SQSClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

function operationOf(request: IncomingMessage): string {
  const target = request.headers['x-amz-target'];
  const value = Array.isArray(target) ? target[0] : target;
  // JSON protocol: `AmazonSQS.ReceiveMessage`; the query protocol is not used by SDK v3 any more.
  return value?.split('.').pop() ?? 'Unknown';
}

export interface LocalQueue {
  def: QueueDef;
  url: string;
  arn: string;
  dlqUrl: string;
  dlqArn: string;
  visibilityTimeoutSeconds: number;
}

export interface CreateQueuesOptions {
  /**
   * Timeout of the function that consumes each queue, in seconds; the visibility timeout is the
   * definition's factor times it. Default 30.
   */
  consumerTimeoutSeconds?: number | ((queue: QueueDef) => number);
  /** Default: the definition's `localName`, and `dlqLocalName` for its DLQ. */
  nameOf?: (queue: QueueDef) => string;
}

const DAY_SECONDS = 86_400;
const DEFAULT_CONSUMER_TIMEOUT_SECONDS = 30;
/** SQS's largest visibility timeout. */
const MAX_VISIBILITY_SECONDS = 43_200;

/** The queue attributes one definition asks for, given its DLQ's ARN and its consumer's timeout. */
export function queueAttributes(
  queue: QueueDef,
  dlqArn: string,
  consumerTimeoutSeconds: number,
): Record<string, string> {
  const visibility = Math.min(
    Math.ceil(queue.visibilityTimeoutFactor * consumerTimeoutSeconds),
    MAX_VISIBILITY_SECONDS,
  );
  return {
    VisibilityTimeout: String(visibility),
    MessageRetentionPeriod: String(queue.retentionDays * DAY_SECONDS),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: queue.maxReceiveCount,
    }),
  };
}

/**
 * Creates each queue and its DLQ (DLQ first: the redrive policy must name an existing queue).
 * Safe to run again against queues created with the same attributes.
 */
export async function createQueues(
  client: SQSClient,
  queues: readonly QueueDef[] = QUEUES,
  options: CreateQueuesOptions = {},
): Promise<Record<string, LocalQueue>> {
  const timeoutOf = options.consumerTimeoutSeconds ?? DEFAULT_CONSUMER_TIMEOUT_SECONDS;
  const created: Record<string, LocalQueue> = {};
  for (const def of queues) {
    const name = options.nameOf ? options.nameOf(def) : def.localName;
    const dlqName = options.nameOf ? `${name}-dlq` : dlqLocalName(def);
    const dlqUrl = await createQueue(client, dlqName, {
      MessageRetentionPeriod: String(def.dlqRetentionDays * DAY_SECONDS),
    });
    const dlqArn = await queueArn(client, dlqUrl);
    const timeout = typeof timeoutOf === 'function' ? timeoutOf(def) : timeoutOf;
    const attributes = queueAttributes(def, dlqArn, timeout);
    const url = await createQueue(client, name, attributes);
    created[def.name] = {
      def,
      url,
      arn: await queueArn(client, url),
      dlqUrl,
      dlqArn,
      visibilityTimeoutSeconds: Number(attributes.VisibilityTimeout),
    };
  }
  return created;
}

async function createQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  if (!QueueUrl) throw new Error(`CreateQueue returned no URL for ${name}`);
  return QueueUrl;
}

async function queueArn(client: SQSClient, url: string): Promise<string> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`GetQueueAttributes returned no ARN for ${url}`);
  return arn;
}

export interface QueueDepth {
  /** `ApproximateNumberOfMessages`; local-aws-sqs counts in-flight messages here too. */
  visible: number;
  /** `ApproximateNumberOfMessagesNotVisible`: received and neither deleted nor returned yet. */
  inFlight: number;
  delayed: number;
}

/** The approximate message counts of a queue, in one request. */
export async function queueDepth(client: SQSClient, url: string): Promise<QueueDepth> {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** Whether a queue holds no message at all, visible, in flight or delayed. */
export function isEmpty(depth: QueueDepth): boolean {
  return depth.visible === 0 && depth.inFlight === 0 && depth.delayed === 0;
}
