/**
 * The re-link push: what it says, where it leads, its idempotency key, how to read OneSignal's
 * answer, and the rule that makes one re-auth episode give its owner exactly one push. Plain
 * TypeScript with no SDK, so the notifier Lambda, the local stack and the tests share it.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import type { Account, RelinkRequest } from './model';
import type { Clock } from './ports';

/** The fields of a OneSignal create-notification request that a re-link push sets. */
export interface RelinkPush {
  app_id: string;
  name: string;
  include_aliases: { external_id: string[] };
  target_channel: 'push';
  headings: Record<Language, string>;
  contents: Record<Language, string>;
  app_url: string;
  data: { accountId: string; reason: RelinkRequest['reason']; episode: number };
  idempotency_key: string;
}

/** Languages every push carries: English and French cover MTN MoMo's markets. */
export const LANGUAGES = ['en', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];

const HEADINGS: Record<Language, string> = {
  en: 'Reconnect your MoMo wallet',
  fr: 'Reconnectez votre portefeuille MoMo',
};

const BODIES: Record<RelinkRequest['reason'], Record<Language, string>> = {
  link_expired: {
    en: 'The link to your MoMo wallet has expired. Tap to reconnect it and keep your transactions up to date.',
    fr: 'Le lien vers votre portefeuille MoMo a expiré. Touchez pour le reconnecter et garder vos transactions à jour.',
  },
  link_revoked: {
    en: 'Access to your MoMo wallet was withdrawn. Tap to link it again so it keeps syncing.',
    fr: 'L’accès à votre portefeuille MoMo a été retiré. Touchez pour le relier à nouveau et reprendre la synchronisation.',
  },
  link_invalid: {
    en: 'We can no longer reach your MoMo wallet with its current link. Tap to link it again.',
    fr: 'Nous n’arrivons plus à joindre votre portefeuille MoMo avec le lien actuel. Touchez pour le relier à nouveau.',
  },
};

/** Settings of the push that come from configuration. */
export interface RelinkPushSettings {
  /** The OneSignal app id (a UUID). */
  appId: string;
  /** The mobile app's URL scheme, without `://` (e.g. `momofinance`). */
  appScheme: string;
}

// A fixed namespace for our keys, so that the same account and episode always give the same UUID
// and no other name in any other system can collide with ours.
const RELINK_NAMESPACE = 'f7332642-a793-4091-b34e-ffd8193d85ed';

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 of namespace and name) for one account's episode.
 * OneSignal drops a second create with the same key for 30 days, so a retried send of the same
 * episode can never deliver twice, whichever worker sends it.
 */
export function relinkIdempotencyKey(accountId: string, episode: number): string {
  const namespace = Buffer.from(RELINK_NAMESPACE.replaceAll('-', ''), 'hex');
  const hash = createHash('sha1')
    .update(namespace)
    .update(`relink:${accountId}:${episode}`, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20, 32),
  ].join('-');
}

/** The deep link that opens the account's re-link screen in the app. */
export function relinkDeepLink(appScheme: string, accountId: string): string {
  return `${appScheme}://accounts/${encodeURIComponent(accountId)}/relink`;
}

/** Builds the push for one request; the owner's user id is their OneSignal external id. */
export function buildRelinkPush(request: RelinkRequest, settings: RelinkPushSettings): RelinkPush {
  return {
    app_id: settings.appId,
    // OneSignal's dashboard groups messages by name; it is never shown to the user.
    name: `relink-${request.reason}`,
    include_aliases: { external_id: [request.ownerId] },
    target_channel: 'push',
    headings: { ...HEADINGS },
    contents: { ...BODIES[request.reason] },
    // app_url, not url: a custom scheme means nothing to a browser, only to the installed app.
    app_url: relinkDeepLink(settings.appScheme, request.accountId),
    data: { accountId: request.accountId, reason: request.reason, episode: request.episode },
    idempotency_key: relinkIdempotencyKey(request.accountId, request.episode),
  };
}

/** What came of one attempt to send a push. */
export type PushOutcome =
  | { kind: 'sent'; notificationId: string }
  /** OneSignal accepted the request but the owner has no subscribed device. */
  | { kind: 'no_recipients' }
  /** Worth trying again after `retryAfterMs` (429, 5xx, network). */
  | { kind: 'retry'; retryAfterMs: number; reason: string }
  /** Will never succeed as sent (a 4xx other than 429); `detail` is OneSignal's first message. */
  | { kind: 'permanent'; reason: string; detail?: string };

/** OneSignal's answer to a create-notification request, as far as the classification needs. */
export interface PushAnswer {
  status: number;
  body?: { id?: unknown; errors?: unknown } | undefined;
  /** The `Retry-After` header, if any. */
  retryAfter?: string | undefined;
}

/**
 * When OneSignal asks for a retry without saying when: its guidance for non-urgent retries is to
 * wait 100 seconds.
 */
export const DEFAULT_RETRY_AFTER_MS = 100_000;

/** Reads OneSignal's answer into an outcome; `now` only serves an HTTP-date `Retry-After`. */
export function classifyPushAnswer(answer: PushAnswer, now: Date): PushOutcome {
  const { status } = answer;
  if (status >= 200 && status < 300) {
    const id = answer.body?.id;
    // A 200 with an empty id created nothing: the alias has no subscribed device. Retrying would
    // change nothing until the user installs the app, and the next episode will try again.
    if (typeof id === 'string' && id.length > 0) return { kind: 'sent', notificationId: id };
    return { kind: 'no_recipients' };
  }
  if (status === 429 || status >= 500) {
    return {
      kind: 'retry',
      retryAfterMs: parseRetryAfter(answer.retryAfter, now) ?? DEFAULT_RETRY_AFTER_MS,
      reason: status === 429 ? 'rate_limited' : `http_${status}`,
    };
  }
  const detail = firstErrorMessage(answer.body?.errors);
  return {
    kind: 'permanent',
    reason: status === 401 || status === 403 ? 'api_key_rejected' : `http_${status}`,
    ...(detail !== undefined ? { detail } : {}),
  };
}

/** `Retry-After` in delta-seconds or as an HTTP date, in milliseconds; undefined when unusable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

/** OneSignal's first error string, cut short and stripped of control characters. */
function firstErrorMessage(errors: unknown): string | undefined {
  const first = Array.isArray(errors) ? errors.find((e) => typeof e === 'string') : undefined;
  if (typeof first !== 'string') return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return first.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 200);
}

/** Why a request needs no push (or none yet). */
export type SkipReason =
  /** The account was deleted. */
  | 'account_gone'
  /** The episode was closed (re-linked or synced again) before the push went out. */
  | 'episode_closed'
  /** A newer episode exists; its own request carries its push. */
  | 'superseded'
  /** The episode was already notified: a redelivery, a retried Lambda or a second failing sync. */
  | 'already_notified'
  /** The owner turned re-link pushes off. */
  | 'opted_out';

/** What the notifier should do with one request, given the account as stored now. */
export type RelinkDecision =
  | { action: 'send' }
  | { action: 'skip'; reason: SkipReason }
  /**
   * The account does not show the episode yet: the engine queues the request before it writes
   * the account, so the write may still be on its way. Look again later.
   */
  | { action: 'wait' };

/** The rule that makes one re-auth episode give its owner at most one push. */
export function decideRelink(account: Account | undefined, request: RelinkRequest): RelinkDecision {
  if (account === undefined) return { action: 'skip', reason: 'account_gone' };
  const reauth = account.reauth;
  if (reauth === undefined || reauth.episode < request.episode) return { action: 'wait' };
  if (reauth.episode > request.episode) return { action: 'skip', reason: 'superseded' };
  if (reauth.closedAt !== undefined) return { action: 'skip', reason: 'episode_closed' };
  if (reauth.notifiedAt !== undefined) return { action: 'skip', reason: 'already_notified' };
  if (account.relinkPushes === false) return { action: 'skip', reason: 'opted_out' };
  return { action: 'send' };
}

/** Sends one push and classifies the answer; implemented over OneSignal. */
export interface PushSender {
  sendRelink(request: RelinkRequest): Promise<PushOutcome>;
}

/** The account operations the notifier needs. */
export interface RelinkAccounts {
  /** The account as stored now (a consistent read). */
  get(accountId: string): Promise<Account | undefined>;
  /**
   * Records that the episode was notified, only while the account is still in that episode and
   * it has not been recorded yet; false when the condition failed.
   */
  markNotified(
    accountId: string,
    episode: number,
    result: 'sent' | 'no_recipients',
    at: string,
  ): Promise<boolean>;
}

/** What the notifier did with one request. */
export type RelinkDelivery =
  | { status: 'sent'; notificationId: string; recorded: boolean }
  | { status: 'no_recipients'; recorded: boolean }
  | { status: 'skipped'; reason: SkipReason }
  | { status: 'wait' }
  | { status: 'retry'; retryAfterMs: number; reason: string }
  | { status: 'permanent'; reason: string; detail?: string };

export interface RelinkDeps {
  accounts: RelinkAccounts;
  sender: PushSender;
  clock: Clock;
}

/**
 * Handles one re-link request: look at the account, send at most one push for the episode, and
 * record it. The send comes before the record on purpose: a crash in between is covered by
 * OneSignal's idempotency key, while the other order could record a push that never left.
 */
export async function deliverRelink(
  deps: RelinkDeps,
  request: RelinkRequest,
): Promise<RelinkDelivery> {
  const account = await deps.accounts.get(request.accountId);
  const decision = decideRelink(account, request);
  if (decision.action === 'skip') return { status: 'skipped', reason: decision.reason };
  if (decision.action === 'wait') return { status: 'wait' };
  // The owner id comes from the account, not the message: the stored item is the authority.
  const outcome = await deps.sender.sendRelink({ ...request, ownerId: account!.ownerId });
  switch (outcome.kind) {
    case 'sent':
    case 'no_recipients': {
      const recorded = await deps.accounts.markNotified(
        request.accountId,
        request.episode,
        outcome.kind,
        deps.clock.now().toISOString(),
      );
      return outcome.kind === 'sent'
        ? { status: 'sent', notificationId: outcome.notificationId, recorded }
        : { status: 'no_recipients', recorded };
    }
    case 'retry':
      return { status: 'retry', retryAfterMs: outcome.retryAfterMs, reason: outcome.reason };
    case 'permanent':
      return {
        status: 'permanent',
        reason: outcome.reason,
        ...(outcome.detail !== undefined ? { detail: outcome.detail } : {}),
      };
  }
}

// zod/mini, as the other handlers use: the full zod would be most of the notifier's bundle.
const relinkRequestSchema = z.object({
  accountId: z.string().check(z.minLength(1)),
  ownerId: z.string().check(z.minLength(1)),
  episode: z.int().check(z.minimum(1)),
  reason: z.enum(['link_expired', 'link_revoked', 'link_invalid']),
});

/** Parses a notify-queue message body; throws a TypeError on anything else. */
export function parseRelinkRequest(body: string): RelinkRequest {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new TypeError('body is not JSON');
  }
  const parsed = relinkRequestSchema.safeParse(value);
  if (!parsed.success) throw new TypeError('body is not a re-link request');
  return parsed.data;
}
