/**
 * Records the ChangeMessageVisibility requests every SQS client of the process makes, while the
 * requests still reach the engine: handlers build their own clients at module load, so this is
 * how a test reads the delay a handler gave a record.
 */
import {
  ChangeMessageVisibilityCommand,
  type ChangeMessageVisibilityCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { vi } from 'vitest';

type Send = (this: SQSClient, command: unknown) => Promise<unknown>;

/** Starts recording; the returned array fills as requests are made. Undo with vi.restoreAllMocks. */
export function recordVisibilityChanges(): ChangeMessageVisibilityCommandInput[] {
  const changes: ChangeMessageVisibilityCommandInput[] = [];
  const send = SQSClient.prototype.send as unknown as Send;
  vi.spyOn(SQSClient.prototype, 'send').mockImplementation(function (this: SQSClient, command) {
    if (command instanceof ChangeMessageVisibilityCommand) changes.push(command.input);
    return send.call(this, command) as never;
  });
  return changes;
}
