/**
 * A OneSignal REST API stub on loopback for the local stack and the tests. It answers the one
 * call momo-sync makes, create notification (`POST /notifications`, what
 * `@onesignal/node-onesignal` 5.x sends), the way OneSignal does:
 * - `Authorization: Key <REST API key>` of the app, else 403;
 * - `app_id` of the app, English content, one targeting mode (`include_aliases` with
 *   `target_channel`), else 400 with `{ errors: [...] }`;
 * - `idempotency_key` (a UUID): the same key within 30 days answers the first result again with
 *   `Idempotent-Replayed: true` and delivers nothing new;
 * - an alias with no subscribed device gets a 200 with an empty id and
 *   `errors: ['All included players are not subscribed']`.
 * Every delivered push is recorded; the next N requests can be told to fail.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listen, readBody } from './net';

export interface OneSignalStubOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  appId: string;
  /** The app's REST API key the stub accepts. */
  apiKey: string;
  /**
   * External ids that have a subscribed push device; every other one has none. `'all'` gives
   * every user a device (a demo or a soak where each owner has the app installed).
   */
  externalIdsWithDevices?: Iterable<string> | 'all';
  /** The stub's clock, for the 30-day idempotency window. */
  now?: () => Date;
}

/** A push the stub delivered to at least one device. */
export interface DeliveredPush {
  id: string;
  /** The external ids that had a device. */
  externalIds: string[];
  headings: Record<string, string>;
  contents: Record<string, string>;
  appUrl?: string;
  url?: string;
  data?: Record<string, unknown>;
  idempotencyKey?: string;
  name?: string;
  receivedAt: string;
}

/** A canned failure for the next requests. */
export interface StubFailure {
  status: 400 | 429 | 500 | 502 | 503;
  /** Seconds for the `Retry-After` header. */
  retryAfterSeconds?: number;
  /** The `errors` array of the body. */
  errors?: string[];
}

export interface RunningOneSignalStub {
  /** Base URL to give the SDK (`baseServer`), e.g. `http://127.0.0.1:4010`. */
  url: string;
  port: number;
  /** Every push delivered so far, oldest first. */
  pushes(): DeliveredPush[];
  /** Create-notification requests received, whatever the stub answered. */
  requests(): number;
  /** Gives an external id a subscribed device. */
  addDevice(externalId: string): void;
  /** Answers the next `count` requests with `failure` instead of handling them. */
  failNext(count: number, failure: StubFailure): void;
  /** Forgets pushes, requests, idempotency keys and pending failures (not devices). */
  reset(): void;
  close(): Promise<void>;
}

/** OneSignal's wording for the answers the stub imitates. */
export const ONESIGNAL_MESSAGES = {
  invalidApiKey:
    "Access denied.  Please include an 'Authorization: ...' header with a valid API key (https://documentation.onesignal.com/docs/en/keys-and-ids#api-keys).",
  noSubscribers: 'All included players are not subscribed',
  noTargeting:
    'You must include which players, segments, or tags you wish to send this notification to.',
  rateLimited: 'API rate limit exceeded.',
  unavailable: 'Service temporarily unavailable',
} as const;

const IDEMPOTENCY_WINDOW_MS = 30 * 24 * 3600 * 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ALIAS_LABELS = new Set(['external_id', 'onesignal_id']);
const OTHER_TARGETING = [
  'included_segments',
  'excluded_segments',
  'filters',
  'include_subscription_ids',
  'include_player_ids',
  'include_external_user_ids',
  'include_email_tokens',
  'include_phone_numbers',
];
const CHANNELS = new Set(['push', 'email', 'sms']);

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Starts the stub on loopback. */
export async function startOneSignalStub(
  options: OneSignalStubOptions,
): Promise<RunningOneSignalStub> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? (() => new Date());
  const everyone = options.externalIdsWithDevices === 'all';
  const devices = new Set(everyone ? [] : (options.externalIdsWithDevices ?? []));
  const hasDevice = (externalId: string) => everyone || devices.has(externalId);
  let delivered: DeliveredPush[] = [];
  let requestCount = 0;
  let failures: StubFailure[] = [];
  // idempotency_key -> the first answer and when it was given.
  let keys = new Map<string, { at: number; answer: Answer }>();

  const createNotification = (request: IncomingMessage, raw: string): Answer => {
    if (request.headers.authorization !== `Key ${options.apiKey}`) {
      return { status: 403, body: { errors: [ONESIGNAL_MESSAGES.invalidApiKey] } };
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error();
      body = parsed as Record<string, unknown>;
    } catch {
      return badRequest('Invalid JSON body');
    }
    if (body.app_id !== options.appId) {
      return badRequest(
        'app_id not found. You may be missing a Content-Type: application/json header.',
      );
    }
    const key = body.idempotency_key;
    if (key !== undefined && (typeof key !== 'string' || !UUID.test(key))) {
      return badRequest('idempotency_key must be a valid RFC 9562 UUID');
    }
    if (typeof key === 'string') {
      const previous = keys.get(key);
      if (previous && now().getTime() - previous.at < IDEMPOTENCY_WINDOW_MS) {
        return {
          ...previous.answer,
          headers: { ...previous.answer.headers, 'idempotent-replayed': 'true' },
        };
      }
    }
    const problem = validateMessage(body);
    if (problem) return badRequest(problem);
    const aliases = body.include_aliases as Record<string, string[]>;
    const targeted = aliases.external_id ?? [];
    const reached = targeted.filter(hasDevice);
    let answer: Answer;
    if (reached.length === 0) {
      answer = { status: 200, body: { id: '', errors: [ONESIGNAL_MESSAGES.noSubscribers] } };
    } else {
      const id = randomUUID();
      delivered.push({
        id,
        externalIds: reached,
        headings: body.headings as Record<string, string>,
        contents: body.contents as Record<string, string>,
        ...(typeof body.app_url === 'string' ? { appUrl: body.app_url } : {}),
        ...(typeof body.url === 'string' ? { url: body.url } : {}),
        ...(isRecord(body.data) ? { data: body.data } : {}),
        ...(typeof key === 'string' ? { idempotencyKey: key } : {}),
        ...(typeof body.name === 'string' ? { name: body.name } : {}),
        receivedAt: now().toISOString(),
      });
      const missing = targeted.filter((target) => !hasDevice(target));
      answer = {
        status: 200,
        body: {
          id,
          ...(missing.length > 0 ? { errors: { invalid_aliases: { external_id: missing } } } : {}),
        },
      };
    }
    if (typeof key === 'string') keys.set(key, { at: now().getTime(), answer });
    return answer;
  };

  const server: Server = createServer((request, response) => {
    readBody(request)
      .then((raw) => {
        const path = (request.url ?? '/').split('?')[0];
        if (request.method === 'GET' && path === '/_stub/pushes') {
          send(response, { status: 200, body: delivered });
          return;
        }
        if (request.method !== 'POST' || path !== '/notifications') {
          send(response, { status: 404, body: { errors: ['Not Found'] } });
          return;
        }
        requestCount += 1;
        const failure = failures.shift();
        send(response, failure ? failureAnswer(failure) : createNotification(request, raw));
      })
      .catch(() => send(response, { status: 500, body: { errors: ['stub failure'] } }));
  });
  const port = await listen(server, options.port ?? 0, host);
  return {
    url: `http://${host}:${port}`,
    port,
    pushes: () => delivered.map((push) => structuredClone(push)),
    requests: () => requestCount,
    addDevice: (externalId) => {
      devices.add(externalId);
    },
    failNext: (count, failure) => {
      for (let i = 0; i < count; i += 1) failures.push(failure);
    },
    reset: () => {
      delivered = [];
      requestCount = 0;
      failures = [];
      keys = new Map();
    },
    close: () => closeServer(server),
  };
}

/** The first thing OneSignal would reject about a create-notification body, if anything. */
function validateMessage(body: Record<string, unknown>): string | undefined {
  const aliases = body.include_aliases;
  const others = OTHER_TARGETING.filter((field) => body[field] !== undefined);
  if (aliases === undefined) {
    // The stub serves alias targeting only; other modes are a mistake in this codebase.
    return others.length > 0
      ? `the stub supports include_aliases targeting only, got ${others.join(', ')}`
      : ONESIGNAL_MESSAGES.noTargeting;
  }
  if (others.length > 0) {
    return `include_aliases cannot be combined with ${others.join(', ')}`;
  }
  if (!isRecord(aliases) || Object.keys(aliases).length === 0) {
    return 'include_aliases must be an object of alias label to an array of ids';
  }
  for (const [label, ids] of Object.entries(aliases)) {
    if (!ALIAS_LABELS.has(label)) return `unknown alias label ${label}`;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 20_000) {
      return `include_aliases.${label} must hold 1 to 20000 ids`;
    }
    if (!ids.every((id) => typeof id === 'string' && id.length > 0)) {
      return `include_aliases.${label} must hold non-empty strings`;
    }
  }
  if (typeof body.target_channel !== 'string' || !CHANNELS.has(body.target_channel)) {
    return 'target_channel must be push, email or sms when include_aliases is used';
  }
  if (!isLanguageMap(body.contents) || typeof body.contents.en !== 'string') {
    return 'Notifications must have English language content';
  }
  if (body.headings !== undefined && !isLanguageMap(body.headings)) {
    return 'headings must map language codes to strings';
  }
  if (body.data !== undefined && !isRecord(body.data)) return 'data must be an object';
  return undefined;
}

function failureAnswer(failure: StubFailure): Answer {
  const defaults: Record<StubFailure['status'], string> = {
    400: 'Bad request',
    429: ONESIGNAL_MESSAGES.rateLimited,
    500: 'Internal server error',
    502: 'Bad gateway',
    503: ONESIGNAL_MESSAGES.unavailable,
  };
  return {
    status: failure.status,
    body: { errors: failure.errors ?? [defaults[failure.status]] },
    ...(failure.retryAfterSeconds !== undefined
      ? { headers: { 'retry-after': String(failure.retryAfterSeconds) } }
      : {}),
  };
}

function badRequest(message: string): Answer {
  return { status: 400, body: { errors: [message] } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLanguageMap(value: unknown): value is Record<string, string> {
  return (
    isRecord(value) &&
    Object.keys(value).length > 0 &&
    Object.entries(value).every(
      ([lang, text]) => /^[a-z]{2}(-[a-z]+)?$/i.test(lang) && typeof text === 'string',
    )
  );
}

function send(response: ServerResponse, answer: Answer): void {
  response.writeHead(answer.status, {
    'content-type': 'application/json; charset=utf-8',
    ...answer.headers,
  });
  response.end(JSON.stringify(answer.body));
}
