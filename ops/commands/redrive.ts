/**
 * `redrive`: puts the messages of a queue's DLQ back on the queue, after the cause is fixed.
 * Each batch is received, sent to the source queue with its body and message attributes, and
 * only then deleted from the DLQ, so a failure half-way leaves a message in the DLQ (to be
 * moved by the next run), never lost. The dry run receives and lists, moves nothing, and makes
 * what it received visible again at once.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QUEUES, type QueueDef } from '../../lib/resources';
import {
  parseCommand,
  TARGET_HELP,
  TARGET_OPTIONS,
  targetArgs,
  UsageError,
  wholeNumber,
} from '../args';
import type { Command } from '../command';
import type { QueueUrls } from '../target';

export const REDRIVE_HELP = `Usage: npm run ops -- redrive --queue NAME [--dry-run] [--max N] [--local]

Moves the messages of a queue's dead-letter queue back onto the queue, keeping each message's
body and attributes. Fix what sent them there first: the DLQ alarm's description and the saved
query "dead-lettered messages" say why they failed (each message's reason attribute).

  --queue NAME      one of ${QUEUES.map((queue) => queue.name).join(', ')}
  --dry-run         list what would move (message id, receives, reason); move nothing
  --max N           move at most N messages (default: all)

${TARGET_HELP}
`;

/** Visibility of a received DLQ message while it is being moved: ample for one batch. */
const MOVE_VISIBILITY_SECONDS = 60;
const BATCH = 10;
const MAX_MESSAGES = 1_000_000;

/** A DLQ message as the dry run lists it. */
export interface DlqMessage {
  messageId: string;
  receiveCount: number;
  /** The `reason` attribute the consumer set; absent when the redrive policy moved it. */
  reason?: string;
}

export interface RedriveResult {
  listed: DlqMessage[];
  moved: number;
  /** Messages that could not be sent or deleted; they stay in (or return to) the DLQ. */
  failed: number;
}

/** The queue definition a name stands for; refuses an unknown one, naming the known ones. */
export function queueNamed(name: string | undefined): QueueDef {
  const known = QUEUES.map((queue) => queue.name);
  if (name === undefined) throw new UsageError(`--queue is required: one of ${known.join(', ')}`);
  const queue = QUEUES.find((candidate) => candidate.name === name);
  if (!queue) {
    throw new UsageError(`unknown queue ${JSON.stringify(name)}: use one of ${known.join(', ')}`);
  }
  return queue;
}

/** Attributes as SendMessage takes them: the received ones, data types and values only. */
function sendableAttributes(message: Message): Record<string, MessageAttributeValue> | undefined {
  const attributes = message.MessageAttributes;
  if (!attributes || Object.keys(attributes).length === 0) return undefined;
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        DataType: value.DataType,
        ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
      },
    ]),
  );
}

const describe = (message: Message): DlqMessage => ({
  messageId: message.MessageId ?? '?',
  receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
  ...(message.MessageAttributes?.reason?.StringValue !== undefined
    ? { reason: message.MessageAttributes.reason.StringValue }
    : {}),
});

/** Moves (or, dry, lists) up to `max` messages from `urls.dlqUrl` to `urls.url`. */
export async function redrive(
  sqs: SQSClient,
  urls: QueueUrls,
  options: { dryRun: boolean; max: number; waitSeconds: number },
): Promise<RedriveResult> {
  const result: RedriveResult = { listed: [], moved: 0, failed: 0 };
  const seen = new Set<string>();
  const held: { Id: string; ReceiptHandle: string }[] = [];
  // What is in the DLQ now, not what arrives while it runs: a message that fails again at once
  // and comes back under a new id must not keep the redrive going round in a loop.
  const limit = Math.min(options.max, await visibleMessages(sqs, urls.dlqUrl));
  try {
    while (result.listed.length < limit) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: urls.dlqUrl,
          MaxNumberOfMessages: Math.min(BATCH, limit - result.listed.length),
          // The dry run holds what it read until it is done, so no message is listed twice.
          VisibilityTimeout: MOVE_VISIBILITY_SECONDS,
          WaitTimeSeconds: options.waitSeconds,
          // local-aws-sqs ignores MessageSystemAttributeNames; AttributeNames works on both.
          AttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const fresh = Messages.filter((message) => !seen.has(message.MessageId ?? ''));
      if (fresh.length === 0) break;
      for (const message of fresh) {
        seen.add(message.MessageId ?? '');
        result.listed.push(describe(message));
      }
      if (options.dryRun) {
        for (const message of fresh) {
          held.push({ Id: String(held.length), ReceiptHandle: message.ReceiptHandle ?? '' });
        }
        continue;
      }
      await move(sqs, urls, fresh, result);
    }
  } finally {
    if (held.length > 0) await release(sqs, urls.dlqUrl, held);
  }
  return result;
}

async function visibleMessages(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
}

/** Sends one received batch to the source queue, then deletes what was sent from the DLQ. */
async function move(sqs: SQSClient, urls: QueueUrls, batch: Message[], result: RedriveResult) {
  const entries = batch.map((message, i) => ({ message, id: String(i) }));
  const sent = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: urls.url,
      Entries: entries.map(({ message, id }) => ({
        Id: id,
        MessageBody: message.Body ?? '',
        MessageAttributes: sendableAttributes(message),
      })),
    }),
  );
  const sentIds = new Set((sent.Successful ?? []).map((entry) => entry.Id));
  result.failed += entries.length - sentIds.size;
  const toDelete = entries.filter(({ id }) => sentIds.has(id));
  if (toDelete.length === 0) return;
  const deleted = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: urls.dlqUrl,
      Entries: toDelete.map(({ message, id }) => ({
        Id: id,
        ReceiptHandle: message.ReceiptHandle,
      })),
    }),
  );
  // A message sent but not deleted is on both queues: the consumer's lease and conditional
  // writes make the duplicate harmless, and the next redrive would move the DLQ copy again.
  const deletedCount = (deleted.Successful ?? []).length;
  result.moved += deletedCount;
  result.failed += toDelete.length - deletedCount;
}

/** Makes the messages a dry run held visible again. */
async function release(
  sqs: SQSClient,
  dlqUrl: string,
  held: { Id: string; ReceiptHandle: string }[],
) {
  for (let i = 0; i < held.length; i += BATCH) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: dlqUrl,
        Entries: held.slice(i, i + BATCH).map((entry) => ({ ...entry, VisibilityTimeout: 0 })),
      }),
    );
  }
}

function renderListing(listed: DlqMessage[]): string {
  const rows = listed.map(
    (message) =>
      `  ${message.messageId.padEnd(38)} ${String(message.receiveCount).padStart(8)}  ${message.reason ?? '-'}`,
  );
  return [`  ${'message id'.padEnd(38)} ${'receives'.padStart(8)}  reason`, ...rows].join('\n');
}

export const redriveCommand: Command = {
  name: 'redrive',
  summary: "move a queue's dead letters back onto it (--dry-run lists them)",
  help: REDRIVE_HELP,
  async run(argv, { openTarget, out }) {
    const values = parseCommand(argv, {
      ...TARGET_OPTIONS,
      queue: { type: 'string' },
      'dry-run': { type: 'boolean' },
      max: { type: 'string' },
    });
    if (values.help) return { help: true };
    // Every check before the target is opened: a typo must not touch any queue.
    const queue = queueNamed(values.queue);
    const max =
      values.max === undefined ? MAX_MESSAGES : wholeNumber('--max', values.max, 1, MAX_MESSAGES);
    const target = await openTarget(targetArgs(values));
    try {
      const urls = target.queues[queue.name];
      if (!urls) throw new Error(`${target.description} has no ${queue.name} queue`);
      const dryRun = values['dry-run'] ?? false;
      const result = await redrive(target.sqs, urls, {
        dryRun,
        max,
        waitSeconds: target.receiveWaitSeconds,
      });
      const where = `the ${queue.name} DLQ to the ${queue.name} queue in ${target.description}`;
      if (result.listed.length === 0) {
        out(`the ${queue.name} DLQ in ${target.description} is empty: nothing to move\n`);
        return { code: 0 };
      }
      if (dryRun) {
        out(`would move ${result.listed.length} message(s) from ${where}:\n`);
        out(`${renderListing(result.listed)}\n`);
        out('dry run: nothing was moved\n');
        return { code: 0 };
      }
      out(`moved ${result.moved} message(s) from ${where}\n`);
      if (result.failed > 0) {
        out(`${result.failed} message(s) could not be moved and stay in the DLQ; run it again\n`);
        return { code: 1 };
      }
      return { code: 0 };
    } finally {
      target.close();
    }
  },
};
