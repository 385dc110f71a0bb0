/**
 * Opaque page cursors: the base64url of the store's LastEvaluatedKey. A cursor comes back from
 * the caller, so it is decoded defensively: size, alphabet, JSON shape, and an account id that
 * must be the one in the path (a cursor cannot move a query into another account's partition).
 */
import * as z from 'zod/mini';
import { invalidRequest } from './errors';
import type { PageKey } from './ports';

/** Our keys are two short strings; anything longer did not come from us. */
const MAX_CURSOR_LENGTH = 512;

const keySchema = z.strictObject({
  accountId: z.string().check(z.minLength(1), z.maxLength(64)),
  // Printable ASCII only: our sort keys are a time, '#' and an ASCII id.
  sk: z.string().check(z.minLength(1), z.maxLength(300), z.regex(/^[ -~]+$/)),
});

export type CursorKey = z.infer<typeof keySchema>;

/** The cursor for a store's LastEvaluatedKey, or null on the last page. */
export function encodeCursor(key: PageKey | undefined): string | null {
  if (key === undefined) return null;
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The start key a cursor stands for; throws a 400 when it is not one of ours for this account. */
export function decodeCursor(cursor: string, accountId: string): CursorKey {
  const bad = () => invalidRequest('cursor is not a cursor this API returned for this account.');
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const key = keySchema.safeParse(parsed);
  if (!key.success || key.data.accountId !== accountId) throw bad();
  return key.data;
}
