import {
  type BatchResultErrorEntry,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** SQS takes at most ten entries per SendMessageBatch. */
export const SQS_BATCH_SIZE = 10;

/** One message to send: its body and, optionally, a delay and string attributes. */
export interface OutgoingMessage {
  body: string;
  delaySeconds?: number;
  attributes?: Record<string, string>;
}

export interface BatchSenderOptions {
  /** Batches in flight at once. @default 10 */
  concurrency?: number;
  /** Attempts per batch, the first included, for the entries that keep failing. @default 4 */
  maxAttempts?: number;
  /** First backoff step between attempts. @default 100 */
  baseDelayMs?: number;
  /** Largest backoff step. @default 2000 */
  maxDelayMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface BatchSendResult<T> {
  /** The messages that could not be sent after every attempt. */
  failed: T[];
  /** SendMessageBatch requests made, retries included. */
  requests: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends messages to one queue in batches of ten, a bounded number of batches at a time. Entries
 * SQS refuses for a reason on its side (throttling, an internal error) and batches whose request
 * failed outright are sent again after a capped, fully jittered backoff; entries refused as the
 * sender's fault (too large, malformed) are not, since sending them again cannot help.
 */
export class SqsBatchSender {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    options: BatchSenderOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 10);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 2000;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** Sends every item, mapped to a message by `toMessage`; returns the items that failed. */
  async send<T>(items: T[], toMessage: (item: T) => OutgoingMessage): Promise<BatchSendResult<T>> {
    const chunks: T[][] = [];
    for (let i = 0; i < items.length; i += SQS_BATCH_SIZE) {
      chunks.push(items.slice(i, i + SQS_BATCH_SIZE));
    }
    const failed: T[] = [];
    let requests = 0;
    let next = 0;
    // A small pool of workers, each taking the next chunk: at most `concurrency` in flight.
    const worker = async () => {
      while (next < chunks.length) {
        const chunk = chunks[next++]!;
        const outcome = await this.sendChunk(chunk, toMessage);
        requests += outcome.requests;
        failed.push(...outcome.failed);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.concurrency, chunks.length) }, () => worker()),
    );
    return { failed, requests };
  }

  private async sendChunk<T>(
    chunk: T[],
    toMessage: (item: T) => OutgoingMessage,
  ): Promise<BatchSendResult<T>> {
    // Entry ids only need to be unique within one request: the position in the chunk will do.
    let pending = new Map(chunk.map((item, i) => [`m${i}`, item]));
    const givenUp = new Map<string, T>();
    let requests = 0;
    for (let attempt = 1; pending.size > 0 && attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await this.sleep(this.backoffMs(attempt - 1));
      const entries = [...pending].map(([id, item]) => toEntry(id, toMessage(item)));
      requests += 1;
      let failures: BatchResultErrorEntry[];
      try {
        const output = await this.client.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
        );
        failures = output.Failed ?? [];
      } catch {
        // The SDK already retried the request itself; try the whole chunk again later.
        continue;
      }
      const retry = new Map<string, T>();
      for (const failure of failures) {
        const item = failure.Id === undefined ? undefined : pending.get(failure.Id);
        if (failure.Id === undefined || item === undefined) continue;
        if (failure.SenderFault) givenUp.set(failure.Id, item);
        else retry.set(failure.Id, item);
      }
      pending = retry;
    }
    return { failed: [...givenUp.values(), ...pending.values()], requests };
  }

  private backoffMs(retry: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (retry - 1));
    return Math.floor(this.random() * ceiling);
  }
}

function toEntry(id: string, message: OutgoingMessage): SendMessageBatchRequestEntry {
  return {
    Id: id,
    MessageBody: message.body,
    DelaySeconds: message.delaySeconds,
    MessageAttributes: message.attributes
      ? Object.fromEntries(
          Object.entries(message.attributes).map(([name, value]) => [
            name,
            { DataType: 'String', StringValue: value },
          ]),
        )
      : undefined,
  };
}
