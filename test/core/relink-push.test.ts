import { describe, expect, it } from 'vitest';
import type { Account, ReauthEpisode, RelinkRequest } from '../../core/model';
import {
  buildRelinkPush,
  classifyPushAnswer,
  DEFAULT_RETRY_AFTER_MS,
  decideRelink,
  deliverRelink,
  LANGUAGES,
  type PushOutcome,
  type PushSender,
  parseRelinkRequest,
  parseRetryAfter,
  type RelinkAccounts,
  relinkDeepLink,
  relinkIdempotencyKey,
} from '../../core/relink-push';
import { ManualClock, makeAccount } from '../support/in-memory';

const NOW = new Date('2026-03-10T02:00:00.000Z');
const SETTINGS = { appId: '5eb5a37e-b458-11e3-ac11-000c2940e62c', appScheme: 'momofinance' };

const makeRequest = (overrides: Partial<RelinkRequest> = {}): RelinkRequest => ({
  accountId: 'acc-1',
  ownerId: 'user-1',
  episode: 2,
  reason: 'link_expired',
  ...overrides,
});

const episode = (overrides: Partial<ReauthEpisode> = {}): ReauthEpisode => ({
  episode: 2,
  openedAt: '2026-03-10T01:00:00.000Z',
  ...overrides,
});

describe('relinkIdempotencyKey', () => {
  it('gives the same key for the same account and episode', () => {
    expect(relinkIdempotencyKey('acc-1', 3)).toBe(relinkIdempotencyKey('acc-1', 3));
  });

  it.each([
    ['another episode', 'acc-1', 4],
    ['another account', 'acc-2', 3],
  ])('gives a different key for %s', (_case, accountId, n) => {
    expect(relinkIdempotencyKey(accountId, n)).not.toBe(relinkIdempotencyKey('acc-1', 3));
  });

  it('is an RFC 9562 version 5 UUID', () => {
    expect(relinkIdempotencyKey('acc-1', 1)).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});

describe('buildRelinkPush', () => {
  it('targets the owner by external id on the push channel', () => {
    const push = buildRelinkPush(makeRequest(), SETTINGS);

    expect(push.include_aliases).toEqual({ external_id: ['user-1'] });
    expect(push.target_channel).toBe('push');
    expect(push.app_id).toBe(SETTINGS.appId);
  });

  it('links to the account re-link screen with the configured scheme', () => {
    const push = buildRelinkPush(makeRequest({ accountId: 'acc-9' }), SETTINGS);

    expect(push.app_url).toBe('momofinance://accounts/acc-9/relink');
  });

  it.each(LANGUAGES)('has a heading and a text in %s for every reason', (language) => {
    for (const reason of ['link_expired', 'link_revoked', 'link_invalid'] as const) {
      const push = buildRelinkPush(makeRequest({ reason }), SETTINGS);
      expect(push.headings[language]).toMatch(/MoMo/);
      expect(push.contents[language]).toMatch(/MoMo/);
    }
  });

  it('carries what the app needs and the episode key', () => {
    const push = buildRelinkPush(makeRequest({ reason: 'link_revoked', episode: 5 }), SETTINGS);

    expect(push.data).toEqual({ accountId: 'acc-1', reason: 'link_revoked', episode: 5 });
    expect(push.idempotency_key).toBe(relinkIdempotencyKey('acc-1', 5));
  });

  it('escapes an account id that is not URL-safe in the deep link', () => {
    expect(relinkDeepLink('app', 'a/b c')).toBe('app://accounts/a%2Fb%20c/relink');
  });
});

describe('classifyPushAnswer', () => {
  it.each<[string, Parameters<typeof classifyPushAnswer>[0], PushOutcome]>([
    [
      'a 200 with an id is sent',
      { status: 200, body: { id: 'n-1' } },
      { kind: 'sent', notificationId: 'n-1' },
    ],
    [
      'a 200 with an empty id and no subscribers has no recipients',
      { status: 200, body: { id: '', errors: ['All included players are not subscribed'] } },
      { kind: 'no_recipients' },
    ],
    [
      'a 200 with invalid aliases and no id has no recipients',
      { status: 200, body: { errors: { invalid_aliases: { external_id: ['user-1'] } } } },
      { kind: 'no_recipients' },
    ],
    [
      'a 429 waits for Retry-After',
      { status: 429, body: { errors: ['API rate limit exceeded.'] }, retryAfter: '7' },
      { kind: 'retry', retryAfterMs: 7_000, reason: 'rate_limited' },
    ],
    [
      'a 429 without Retry-After waits the default',
      { status: 429 },
      { kind: 'retry', retryAfterMs: DEFAULT_RETRY_AFTER_MS, reason: 'rate_limited' },
    ],
    [
      'a 503 is retried',
      { status: 503, retryAfter: '30' },
      { kind: 'retry', retryAfterMs: 30_000, reason: 'http_503' },
    ],
    [
      'a 400 is permanent with the first message',
      { status: 400, body: { errors: ['Notifications must have English language content'] } },
      {
        kind: 'permanent',
        reason: 'http_400',
        detail: 'Notifications must have English language content',
      },
    ],
    [
      'a 403 is a rejected key',
      { status: 403, body: { errors: ['Access denied.'] } },
      { kind: 'permanent', reason: 'api_key_rejected', detail: 'Access denied.' },
    ],
    [
      'a 404 without a body is permanent',
      { status: 404 },
      { kind: 'permanent', reason: 'http_404' },
    ],
  ])('%s', (_case, answer, expected) => {
    expect(classifyPushAnswer(answer, NOW)).toEqual(expected);
  });

  it('cuts a long error message short', () => {
    const outcome = classifyPushAnswer({ status: 400, body: { errors: ['x'.repeat(500)] } }, NOW);

    expect(outcome.kind === 'permanent' && outcome.detail?.length).toBe(200);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['delta seconds', '120', 120_000],
    ['zero', '0', 0],
    ['an HTTP date', 'Tue, 10 Mar 2026 02:00:30 GMT', 30_000],
    ['an HTTP date in the past', 'Tue, 10 Mar 2026 01:00:00 GMT', 0],
    ['garbage', 'soon', undefined],
    ['nothing', undefined, undefined],
  ])('reads %s', (_case, value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('decideRelink', () => {
  it.each<[string, Account | undefined, ReturnType<typeof decideRelink>]>([
    ['an open, unnotified episode is sent', makeAccount({ reauth: episode() }), { action: 'send' }],
    ['a deleted account is skipped', undefined, { action: 'skip', reason: 'account_gone' }],
    [
      'a closed episode is skipped',
      makeAccount({ reauth: episode({ closedAt: '2026-03-10T01:30:00.000Z' }) }),
      { action: 'skip', reason: 'episode_closed' },
    ],
    [
      'a newer episode supersedes the request',
      makeAccount({ reauth: episode({ episode: 3 }) }),
      { action: 'skip', reason: 'superseded' },
    ],
    [
      'a notified episode is not sent again',
      makeAccount({ reauth: episode({ notifiedAt: '2026-03-10T01:01:00.000Z' }) }),
      { action: 'skip', reason: 'already_notified' },
    ],
    [
      'an owner who opted out is skipped',
      makeAccount({ reauth: episode(), relinkPushes: false }),
      { action: 'skip', reason: 'opted_out' },
    ],
    [
      'an episode not written yet waits',
      makeAccount({ reauth: episode({ episode: 1 }) }),
      { action: 'wait' },
    ],
    ['an account with no episode yet waits', makeAccount(), { action: 'wait' }],
  ])('%s', (_case, account, expected) => {
    expect(decideRelink(account, makeRequest())).toEqual(expected);
  });
});

class FakeAccounts implements RelinkAccounts {
  marks: { episode: number; result: string }[] = [];
  constructor(public account: Account | undefined) {}
  async get() {
    return this.account && structuredClone(this.account);
  }
  async markNotified(_id: string, n: number, result: 'sent' | 'no_recipients', at: string) {
    const reauth = this.account?.reauth;
    if (!reauth || reauth.episode !== n || reauth.notifiedAt) return false;
    reauth.notifiedAt = at;
    reauth.notifyResult = result;
    this.marks.push({ episode: n, result });
    return true;
  }
}

class FakeSender implements PushSender {
  sent: RelinkRequest[] = [];
  constructor(private readonly outcome: PushOutcome) {}
  async sendRelink(request: RelinkRequest) {
    this.sent.push(request);
    return this.outcome;
  }
}

describe('deliverRelink', () => {
  const clock = new ManualClock(NOW);

  it('sends once and records the episode as notified', async () => {
    const accounts = new FakeAccounts(makeAccount({ reauth: episode() }));
    const sender = new FakeSender({ kind: 'sent', notificationId: 'n-1' });

    const first = await deliverRelink({ accounts, sender, clock }, makeRequest());
    const again = await deliverRelink({ accounts, sender, clock }, makeRequest());

    expect(first).toEqual({ status: 'sent', notificationId: 'n-1', recorded: true });
    expect(again).toEqual({ status: 'skipped', reason: 'already_notified' });
    expect(sender.sent).toHaveLength(1);
    expect(accounts.account?.reauth).toMatchObject({
      notifiedAt: NOW.toISOString(),
      notifyResult: 'sent',
    });
  });

  it('records a push with no recipients so it is not tried again', async () => {
    const accounts = new FakeAccounts(makeAccount({ reauth: episode() }));
    const sender = new FakeSender({ kind: 'no_recipients' });

    const delivery = await deliverRelink({ accounts, sender, clock }, makeRequest());

    expect(delivery).toEqual({ status: 'no_recipients', recorded: true });
    expect(accounts.marks).toEqual([{ episode: 2, result: 'no_recipients' }]);
  });

  it('targets the owner stored on the account', async () => {
    const accounts = new FakeAccounts(makeAccount({ ownerId: 'user-7', reauth: episode() }));
    const sender = new FakeSender({ kind: 'sent', notificationId: 'n-1' });

    await deliverRelink({ accounts, sender, clock }, makeRequest({ ownerId: 'someone-else' }));

    expect(sender.sent[0]?.ownerId).toBe('user-7');
  });

  it.each<[string, PushOutcome, unknown]>([
    [
      'a retry',
      { kind: 'retry', retryAfterMs: 5_000, reason: 'rate_limited' },
      { status: 'retry', retryAfterMs: 5_000, reason: 'rate_limited' },
    ],
    [
      'a permanent failure',
      { kind: 'permanent', reason: 'http_400', detail: 'bad' },
      { status: 'permanent', reason: 'http_400', detail: 'bad' },
    ],
  ])('records nothing after %s', async (_case, outcome, expected) => {
    const accounts = new FakeAccounts(makeAccount({ reauth: episode() }));

    const delivery = await deliverRelink(
      { accounts, sender: new FakeSender(outcome), clock },
      makeRequest(),
    );

    expect(delivery).toEqual(expected);
    expect(accounts.marks).toEqual([]);
  });

  it('sends nothing while the account does not show the episode yet', async () => {
    const accounts = new FakeAccounts(makeAccount());
    const sender = new FakeSender({ kind: 'sent', notificationId: 'n-1' });

    const delivery = await deliverRelink({ accounts, sender, clock }, makeRequest());

    expect(delivery).toEqual({ status: 'wait' });
    expect(sender.sent).toEqual([]);
  });
});

describe('parseRelinkRequest', () => {
  it('reads what the engine queues', () => {
    expect(parseRelinkRequest(JSON.stringify(makeRequest()))).toEqual(makeRequest());
  });

  it.each([
    ['not JSON', '{'],
    ['a missing owner', JSON.stringify({ ...makeRequest(), ownerId: undefined })],
    ['episode zero', JSON.stringify(makeRequest({ episode: 0 }))],
    ['an unknown reason', JSON.stringify({ ...makeRequest(), reason: 'bored' })],
    ['null', 'null'],
  ])('rejects %s', (_case, body) => {
    expect(() => parseRelinkRequest(body)).toThrow(TypeError);
  });
});
