/**
 * Small builders shared by the DynamoDB adapters: update expressions from patches, and the
 * batch read that every "list" goes through.
 */
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A DynamoDB key or `LastEvaluatedKey` as the document client hands it over. */
export type StartKey = Record<string, unknown>;

export interface ExpressionParts {
  expression: string;
  names: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * Turns a patch into one `SET ... REMOVE ...` expression: a value sets the attribute, `null`
 * removes it, `undefined` leaves it alone. Placeholders are `#p<i>`/`:p<i>` for every name, so
 * reserved words (`name`, `type`, `cursor`, ...) need no special care and hand-written
 * conditions can use their own placeholders beside them.
 */
export function patchExpression(patch: Record<string, unknown>): ExpressionParts {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const set: string[] = [];
  const remove: string[] = [];
  let i = 0;
  for (const [attribute, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const name = `#p${i}`;
    names[name] = attribute;
    if (value === null) {
      remove.push(name);
    } else {
      values[`:p${i}`] = value;
      set.push(`${name} = :p${i}`);
    }
    i += 1;
  }
  if (set.length === 0 && remove.length === 0) throw new Error('empty patch');
  const clauses = [
    set.length > 0 ? `SET ${set.join(', ')}` : '',
    remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '',
  ];
  return { expression: clauses.filter(Boolean).join(' '), names, values };
}

/** `ExpressionAttributeValues` must be absent rather than empty. */
export function valuesOrUndefined(
  values: Record<string, unknown>,
): Record<string, unknown> | undefined {
  return Object.keys(values).length > 0 ? values : undefined;
}

export function isConditionFailure(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/** BatchGetItem takes at most 100 keys a call. */
const BATCH_GET_LIMIT = 100;
const UNPROCESSED_ATTEMPTS = 8;
const UNPROCESSED_BASE_MS = 25;
const UNPROCESSED_CAP_MS = 1_000;

export interface BatchGetOptions {
  projection?: string;
  names?: Record<string, string>;
  /** Read what the last write left, at twice the read units of an eventually consistent read. */
  consistent?: boolean;
}

/**
 * Reads the items of the given keys (missing items are simply absent), 100 keys a call.
 * DynamoDB may answer part of a batch with `UnprocessedKeys` under throttling or the 16 MB
 * response limit; those are asked again with capped, fully jittered backoff.
 */
export async function batchGetAll<T>(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: StartKey[],
  options: BatchGetOptions = {},
): Promise<T[]> {
  const items: T[] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
    let pending: StartKey[] = keys.slice(start, start + BATCH_GET_LIMIT);
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt >= UNPROCESSED_ATTEMPTS) {
        throw new Error(`batch read of ${tableName} left ${pending.length} keys unprocessed`);
      }
      if (attempt > 0) await sleep(jitteredBackoff(attempt));
      const result = await doc.send(
        new BatchGetCommand({
          RequestItems: {
            [tableName]: {
              Keys: pending,
              ...(options.projection ? { ProjectionExpression: options.projection } : {}),
              ...(options.names ? { ExpressionAttributeNames: options.names } : {}),
              ...(options.consistent ? { ConsistentRead: true } : {}),
            },
          },
        }),
      );
      items.push(...((result.Responses?.[tableName] ?? []) as T[]));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as StartKey[];
    }
  }
  return items;
}

function jitteredBackoff(attempt: number): number {
  return Math.random() * Math.min(UNPROCESSED_CAP_MS, UNPROCESSED_BASE_MS * 2 ** attempt);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
