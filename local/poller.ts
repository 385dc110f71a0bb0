/**
 * An event-source poller with the semantics of Lambda's SQS event source mapping, so the local
 * stack drives the real batch handlers the way AWS does:
 * - at most `maximumConcurrency` batches are being handled at once;
 * - a batch that succeeds has its records deleted, except those named in `batchItemFailures`;
 *   a response naming an unknown or empty identifier fails the whole batch, as Lambda does;
 * - a handler that throws, or runs past its timeout, leaves the whole batch to come back when
 *   the visibility timeout runs out (the poller never shortens it: a ChangeMessageVisibility
 *   would count as a receive on local-aws-sqs);
 * - a message received more than `maxReceiveCount` times goes to the DLQ; the engine normally
 *   does that itself, the poller only catches what slipped past it.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  Context,
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';
import { isEmpty, queueDepth } from './engines/sqs';

/**
 * A Lambda handler for SQS batches, as the functions under lambdas/ export it. The result is
 * `unknown` because middy-wrapped handlers are typed loosely; it is read as an SQSBatchResponse.
 */
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<unknown>;

export interface PollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  /**
   * The handler, or one per concurrent slot (at least `maximumConcurrency` of them): slot i only
   * ever invokes `handler[i]`, one batch at a time, like one Lambda execution environment.
   */
  handler: SqsBatchHandler | readonly SqsBatchHandler[];
  /** Name the Context carries (`momo-sync-sync-account`). */
  functionName: string;
  /** The function's timeout: the Context's remaining time counts down from it. */
  timeoutMs: number;
  /** Records per invocation, 1 to 10. Default 10. */
  batchSize?: number;
  /** Batches handled at once. Default 2, Lambda's floor for this setting. */
  maximumConcurrency?: number;
  /** Default: read from the queue (GetQueueAttributes QueueArn) when the poller starts. */
  queueArn?: string;
  region?: string;
  /** With `maxReceiveCount`, lets the poller move over-received messages to the DLQ. */
  dlqUrl?: string;
  maxReceiveCount?: number;
  /** Long-poll wait of each receive; keep it 0 on local-aws-sqs (see engines/sqs.ts). */
  waitTimeSeconds?: number;
  /** Pause after an empty receive, so an idle poller costs a few requests a second. */
  idleDelayMs?: number;
  /** Called with each error a handler threw or a batch operation failed with. */
  onError?: (error: unknown, info: { functionName: string }) => void;
  /** Called after each handled batch, for progress displays. */
  onBatch?: (result: BatchResult) => void;
}

export interface BatchResult {
  functionName: string;
  records: number;
  /** Records deleted from the queue. */
  succeeded: number;
  /** Records left for redelivery. */
  failed: number;
  outcome: 'ok' | 'partial' | 'error' | 'timeout';
}

export interface PollerStats {
  /** SQS requests the poller made, by operation (`ReceiveMessage`, `DeleteMessageBatch`, ...). */
  requests: Record<string, number>;
  /** Receives that returned no message (included in `requests.ReceiveMessage`). */
  emptyReceives: number;
  invocations: number;
  records: number;
  deleted: number;
  /** Records left for redelivery by a partial failure, a thrown error or a timeout. */
  failedRecords: number;
  handlerErrors: number;
  timeouts: number;
  /** Messages the poller itself moved to the DLQ. */
  deadLettered: number;
  /** Largest number of batches handled at the same time so far. */
  peakConcurrency: number;
}

export interface DrainOptions {
  /** Reject when the queue has not drained by then. Default 60 s. */
  timeoutMs?: number;
  /** Pause between two emptiness checks. Default 50 ms. */
  checkEveryMs?: number;
}

export interface Poller {
  readonly functionName: string;
  readonly queueUrl: string;
  /** Starts polling; resolves once the poller knows its queue's ARN. */
  start(): Promise<void>;
  /** Resolves when the queue holds no message (visible, in flight or delayed) and no batch runs. */
  drain(options?: DrainOptions): Promise<void>;
  /** Whether the queue was empty and no batch ran at the last check; one SQS request. */
  isIdle(): Promise<boolean>;
  /** Stops receiving and waits for the batches being handled; never rejects. */
  stop(): Promise<void>;
  stats(): PollerStats;
}

const MAX_BATCH = 10;

/** Builds a poller for one queue and one handler; call `start()` to begin. */
export function createPoller(options: PollerOptions): Poller {
  const batchSize = options.batchSize ?? MAX_BATCH;
  const concurrency = options.maximumConcurrency ?? 2;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
    throw new RangeError(`batchSize must be an integer from 1 to ${MAX_BATCH}, got ${batchSize}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`maximumConcurrency must be a positive integer, got ${concurrency}`);
  }
  const slots = typeof options.handler === 'function' ? [options.handler] : options.handler;
  if (slots.length === 0 || (slots.length > 1 && slots.length < concurrency)) {
    throw new RangeError(
      `handler must be one function or at least maximumConcurrency (${concurrency}) of them, got ${slots.length}`,
    );
  }
  const region = options.region ?? 'us-east-1';
  const idleDelayMs = options.idleDelayMs ?? 100;
  const stats: PollerStats = {
    requests: {},
    emptyReceives: 0,
    invocations: 0,
    records: 0,
    deleted: 0,
    failedRecords: 0,
    handlerErrors: 0,
    timeouts: 0,
    deadLettered: 0,
    peakConcurrency: 0,
  };
  let queueArn = options.queueArn;
  let running = false;
  let active = 0;
  let workers: Promise<void>[] = [];
  const sleeper = createSleeper();

  const count = (operation: string) => {
    stats.requests[operation] = (stats.requests[operation] ?? 0) + 1;
  };
  const report = (error: unknown) =>
    options.onError?.(error, { functionName: options.functionName });

  async function receive(): Promise<Message[]> {
    let messages: Message[] = [];
    try {
      ({ Messages: messages = [] } = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: batchSize,
          WaitTimeSeconds: options.waitTimeSeconds ?? 0,
          // local-aws-sqs ignores MessageSystemAttributeNames; AttributeNames works on both.
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      ));
    } finally {
      // Counted once answered, so that stats taken meanwhile never hold a receive that is
      // neither empty nor not: the benchmark subtracts two snapshots of busy pollers.
      count('ReceiveMessage');
      if (messages.length === 0) stats.emptyReceives += 1;
    }
    return messages;
  }

  /** Moves messages past their receive budget to the DLQ; returns the ones to hand over. */
  async function screen(messages: Message[]): Promise<Message[]> {
    const { dlqUrl, maxReceiveCount } = options;
    if (!dlqUrl || maxReceiveCount === undefined) return messages;
    const deliver: Message[] = [];
    const expired: Message[] = [];
    for (const message of messages) {
      const received = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
      (received > maxReceiveCount ? expired : deliver).push(message);
    }
    for (const message of expired) {
      count('SendMessage');
      await options.sqs.send(
        new SendMessageCommand({
          QueueUrl: dlqUrl,
          MessageBody: message.Body ?? '',
          ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
        }),
      );
      stats.deadLettered += 1;
    }
    await remove(expired);
    return deliver;
  }

  async function remove(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += MAX_BATCH) {
      const chunk = messages.slice(start, start + MAX_BATCH);
      count('DeleteMessageBatch');
      const { Failed = [] } = await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: chunk.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
      // A failed delete only means the message comes back once more, as it can on AWS.
      if (Failed.length > 0) report(new Error(`DeleteMessageBatch failed for ${Failed.length}`));
    }
  }

  async function invoke(messages: Message[], handler: SqsBatchHandler): Promise<void> {
    const event: SQSEvent = {
      Records: messages.map((message) => toRecord(message, queueArn ?? '', region)),
    };
    const context = createContext(options.functionName, options.timeoutMs, region);
    stats.invocations += 1;
    stats.records += messages.length;
    const outcome = await runWithTimeout(() => handler(event, context), options.timeoutMs);
    let toDelete: Message[] = [];
    let kind: BatchResult['outcome'];
    if (outcome.kind === 'timeout') {
      stats.timeouts += 1;
      kind = 'timeout';
    } else if (outcome.kind === 'error') {
      stats.handlerErrors += 1;
      report(outcome.error);
      kind = 'error';
    } else {
      const failedIds = failedIdentifiers(outcome.value, messages);
      if (failedIds === 'all') {
        kind = 'error';
        report(new Error('batchItemFailures named an unknown or empty itemIdentifier'));
      } else {
        toDelete = messages.filter((message) => !failedIds.has(message.MessageId ?? ''));
        kind = failedIds.size > 0 ? 'partial' : 'ok';
      }
    }
    await remove(toDelete);
    stats.deleted += toDelete.length;
    stats.failedRecords += messages.length - toDelete.length;
    options.onBatch?.({
      functionName: options.functionName,
      records: messages.length,
      succeeded: toDelete.length,
      failed: messages.length - toDelete.length,
      outcome: kind,
    });
  }

  async function work(slot: number): Promise<void> {
    const handler = slots[slot % slots.length]!;
    while (running) {
      try {
        const messages = await screen(await receive());
        if (messages.length === 0) {
          await sleeper.sleep(idleDelayMs);
          continue;
        }
        active += 1;
        stats.peakConcurrency = Math.max(stats.peakConcurrency, active);
        try {
          await invoke(messages, handler);
        } finally {
          active -= 1;
        }
      } catch (error) {
        // The engine refused a request (or went away during shutdown): back off and go on.
        report(error);
        await sleeper.sleep(idleDelayMs);
      }
    }
  }

  async function isIdle(): Promise<boolean> {
    if (active > 0) return false;
    count('GetQueueAttributes');
    const depth = await queueDepth(options.sqs, options.queueUrl);
    return active === 0 && isEmpty(depth);
  }

  return {
    functionName: options.functionName,
    queueUrl: options.queueUrl,
    async start() {
      if (running) return;
      if (!queueArn) {
        count('GetQueueAttributes');
        const { Attributes } = await options.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: options.queueUrl,
            AttributeNames: ['QueueArn'],
          }),
        );
        queueArn = Attributes?.QueueArn ?? arnFromUrl(options.queueUrl, region);
      }
      running = true;
      // Each worker receives one batch and handles it before receiving again, so the number of
      // workers is the concurrency bound and no message waits received but unhandled.
      workers = Array.from({ length: concurrency }, (_, slot) => work(slot));
    },
    async drain(drainOptions = {}) {
      const deadline = Date.now() + (drainOptions.timeoutMs ?? 60_000);
      const every = drainOptions.checkEveryMs ?? 50;
      for (;;) {
        if (await isIdle()) return;
        if (Date.now() > deadline) {
          throw new Error(`queue of ${options.functionName} did not drain in time`);
        }
        await new Promise((resolve) => setTimeout(resolve, every));
      }
    },
    isIdle,
    async stop() {
      running = false;
      sleeper.wake();
      await Promise.allSettled(workers);
      workers = [];
    },
    stats: () => ({ ...stats, requests: { ...stats.requests } }),
  };
}

/** The record Lambda hands a function for one SQS message. */
export function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = (message.Attributes ?? {}) as Record<string, string>;
  const recordAttributes: SQSRecordAttributes = {
    ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
    SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
    SenderId: attributes.SenderId ?? 'LOCAL',
    ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
  };
  for (const key of [
    'AWSTraceHeader',
    'SequenceNumber',
    'MessageGroupId',
    'MessageDeduplicationId',
    'DeadLetterQueueSourceArn',
  ] as const) {
    if (attributes[key] !== undefined) recordAttributes[key] = attributes[key];
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: recordAttributes,
    messageAttributes: toRecordAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes
      ? { md5OfMessageAttributes: message.MD5OfMessageAttributes }
      : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** Lambda's shape: camel-case fields, binaries as base64, both list fields always present. */
function toRecordAttributes(
  attributes: Record<string, MessageAttributeValue>,
): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    out[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((item) =>
        Buffer.from(item).toString('base64'),
      ),
      dataType: value.DataType ?? 'String',
    };
  }
  return out;
}

/** A Lambda Context whose remaining time counts down from the function's timeout. */
export function createContext(functionName: string, timeoutMs: number, region: string): Context {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  const unsupported = () => {
    throw new Error('callback-style completion is not supported by the local poller');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:123456789012:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${awsRequestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

type Outcome<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'error'; error: unknown }
  | { kind: 'timeout' };

/**
 * Runs the handler and reports a timeout when it outlives the function's timeout. Lambda would
 * kill it; in one process that is impossible, so the poller still waits for it to settle before
 * the worker takes another batch, which keeps the concurrency bound honest.
 */
async function runWithTimeout<T>(run: () => Promise<T>, timeoutMs: number): Promise<Outcome<T>> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
  }, timeoutMs);
  let outcome: Outcome<T>;
  try {
    outcome = { kind: 'ok', value: await run() };
  } catch (error) {
    outcome = { kind: 'error', error };
  } finally {
    clearTimeout(timer);
  }
  return timedOut ? { kind: 'timeout' } : outcome;
}

/** The message ids a response marks failed, or 'all' when Lambda would fail the whole batch. */
function failedIdentifiers(response: unknown, messages: Message[]): Set<string> | 'all' {
  // Lambda reads a missing or empty list as full success.
  const failures = (response as Partial<SQSBatchResponse> | null | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const known = new Set(messages.map((message) => message.MessageId ?? ''));
  const failed = new Set<string>();
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !known.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

function arnFromUrl(url: string, region: string): string {
  const [account = '000000000000', name = ''] = new URL(url).pathname.split('/').filter(Boolean);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

/** A sleep that `wake()` cuts short, so stop() does not wait out an idle pause. */
function createSleeper() {
  const pending = new Set<() => void>();
  return {
    sleep(ms: number): Promise<void> {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          pending.delete(done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        pending.add(done);
      });
    },
    wake() {
      for (const done of [...pending]) done();
    },
  };
}
