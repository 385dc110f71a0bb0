/**
 * Input validation for every route, with zod/mini (the full zod would triple the bundle). Each
 * parser either returns clean, normalised values or throws a 400 whose message names the field
 * and what was wrong with it, so the app developer can fix the call without reading our code.
 */
import * as z from 'zod/mini';
import type { RelinkBody, SettingsBody } from './contract';
import { invalidRequest } from './errors';
import type { ApiSettings } from './ports';

/** Account ids are ours (letters, digits, `-`, `_`); anything else is refused before any read. */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** RFC 3339 date-time with seconds, up to millisecond precision, `Z` or an offset. */
const DATE_TIME_PATTERN =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,3})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

/** A link reference is an opaque consent id: never a phone number (see Account.walletId). */
const LINK_REFERENCE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const PHONE_LIKE = /^\+?\d{8,15}$/;

type Source = 'body' | 'query';

function describe(issue: z.core.$ZodIssue, source: Source): string {
  if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
    return source === 'query'
      ? `unknown query parameter(s): ${issue.keys.join(', ')}.`
      : `the body has unknown field(s): ${issue.keys.join(', ')}.`;
  }
  const field = issue.path.length > 0 ? issue.path.join('.') : source;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${field} has unknown field(s): ${issue.keys.join(', ')}.`;
    case 'invalid_type':
      // Every number the API takes is a whole one.
      return issue.expected === 'int' || issue.expected === 'number'
        ? `${field} must be a whole number.`
        : `${field} must be ${issue.expected === 'object' ? 'an' : 'a'} ${issue.expected}.`;
    case 'too_small':
      return issue.origin === 'string'
        ? `${field} must not be empty.`
        : `${field} must be at least ${issue.minimum}.`;
    case 'too_big':
      return issue.origin === 'string'
        ? `${field} must be at most ${issue.maximum} characters.`
        : `${field} must be at most ${issue.maximum}.`;
    case 'invalid_format':
      return `${field} has an invalid format.`;
    default:
      return `${field} is invalid.`;
  }
}

function parseWith<T>(schema: z.ZodMiniType<T>, input: unknown, source: Source = 'body'): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw invalidRequest(result.error.issues.map((issue) => describe(issue, source)).join(' '));
  }
  return result.data;
}

/** The `{id}` path parameter. */
export function parseAccountId(value: string | undefined): string {
  if (value === undefined || !ACCOUNT_ID_PATTERN.test(value)) {
    throw invalidRequest('id must be 1 to 64 letters, digits, "-" or "_".');
  }
  return value;
}

/** Query strings as API Gateway hands them over (repeated names joined by commas). */
export type QueryParams = Record<string, string | undefined> | undefined;

/** Refuses any query string on a route that takes none. */
export function parseNoQuery(query: QueryParams): void {
  const names = Object.keys(query ?? {});
  if (names.length > 0) {
    throw invalidRequest(`unknown query parameter(s): ${names.join(', ')}.`);
  }
}

export interface PageQuery {
  limit: number;
  cursor?: string;
}

export interface TransactionQuery extends PageQuery {
  /** Normalised to `toISOString()`, so it compares with stored times as a string. */
  from?: string;
  to?: string;
}

const queryString = z.optional(z.string().check(z.maxLength(1024)));

const pageQuerySchema = z.strictObject({ limit: queryString, cursor: queryString });
const transactionQuerySchema = z.strictObject({
  limit: queryString,
  cursor: queryString,
  from: queryString,
  to: queryString,
});

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  const limit = /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) {
    throw invalidRequest(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}.`);
  }
  return limit;
}

function parseCursorParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0) throw invalidRequest('cursor must not be empty.');
  return value;
}

function parseInstant(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const millis = instantMillis(value);
  if (millis === undefined) {
    throw invalidRequest(`${name} must be an RFC 3339 date-time, e.g. 2026-03-01T00:00:00Z.`);
  }
  return new Date(millis).toISOString();
}

/** Epoch milliseconds of an RFC 3339 date-time, or undefined. */
function instantMillis(value: string): number | undefined {
  const parts = DATE_TIME_PATTERN.exec(value);
  if (!parts) return undefined;
  const [year, month, day] = parts.slice(1, 4).map(Number) as [number, number, number];
  // Date.parse rolls 2026-02-30 over into March: the day must exist in its month.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  return Date.parse(value);
}

/** `limit` and `cursor` of the sync-runs list. */
export function parsePageQuery(query: QueryParams): PageQuery {
  const raw = parseWith(pageQuerySchema, query ?? {}, 'query');
  const cursor = parseCursorParam(raw.cursor);
  return { limit: parseLimit(raw.limit), ...(cursor ? { cursor } : {}) };
}

/** `limit`, `cursor`, `from` and `to` of the transactions list. */
export function parseTransactionQuery(query: QueryParams): TransactionQuery {
  const raw = parseWith(transactionQuerySchema, query ?? {}, 'query');
  const from = parseInstant('from', raw.from);
  const to = parseInstant('to', raw.to);
  if (from !== undefined && to !== undefined && from > to) {
    throw invalidRequest('from must not be after to.');
  }
  const cursor = parseCursorParam(raw.cursor);
  return {
    limit: parseLimit(raw.limit),
    ...(cursor ? { cursor } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  };
}

const relinkSchema = z.strictObject({
  link_reference: z.string().check(z.minLength(1), z.maxLength(128)),
});

/** The body of POST /accounts/{id}/relink. */
export function parseRelinkBody(body: unknown): RelinkBody {
  const parsed = parseWith(relinkSchema, body);
  if (PHONE_LIKE.test(parsed.link_reference)) {
    throw invalidRequest('link_reference looks like a phone number: send the link reference.');
  }
  if (!LINK_REFERENCE_PATTERN.test(parsed.link_reference)) {
    throw invalidRequest('link_reference must be letters, digits, ".", ":", "-" or "_".');
  }
  return parsed;
}

/** The body of PATCH /accounts/{id}/settings, checked against the operators' bounds. */
export function parseSettingsBody(body: unknown, settings: ApiSettings): SettingsBody {
  const schema = z.strictObject({
    sync_interval_minutes: z.optional(
      z.nullable(
        z
          .int()
          .check(
            z.minimum(settings.minSyncIntervalMinutes),
            z.maximum(settings.maxSyncIntervalMinutes),
          ),
      ),
    ),
    relink_pushes: z.optional(z.boolean()),
  });
  const parsed = parseWith(schema, body);
  if (parsed.sync_interval_minutes === undefined && parsed.relink_pushes === undefined) {
    throw invalidRequest('the body must set sync_interval_minutes or relink_pushes.');
  }
  return parsed;
}

/** The body of POST /accounts/{id}/sync: nothing, or an empty object. */
export function parseEmptyBody(body: unknown): void {
  if (body === undefined) return;
  parseWith(z.strictObject({}), body);
}
