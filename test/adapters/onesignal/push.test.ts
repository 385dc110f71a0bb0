import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OneSignalPush } from '../../../adapters/onesignal/push';
import type { RelinkRequest } from '../../../core/model';
import { DEFAULT_RETRY_AFTER_MS, relinkIdempotencyKey } from '../../../core/relink-push';
import { type RunningOneSignalStub, startOneSignalStub } from '../../../local/onesignal-stub';

const APP_ID = '5eb5a37e-b458-11e3-ac11-000c2940e62c';
const API_KEY = 'os_v2_app_adapterkey';

let stub: RunningOneSignalStub;
let push: OneSignalPush;

const makeRequest = (overrides: Partial<RelinkRequest> = {}): RelinkRequest => ({
  accountId: 'acc-1',
  ownerId: 'user-1',
  episode: 1,
  reason: 'link_expired',
  ...overrides,
});

const pushWith = (overrides: Partial<ConstructorParameters<typeof OneSignalPush>[0]> = {}) =>
  new OneSignalPush({
    appId: APP_ID,
    appScheme: 'momofinance',
    apiKey: API_KEY,
    baseUrl: stub.url,
    ...overrides,
  });

beforeAll(async () => {
  stub = await startOneSignalStub({
    appId: APP_ID,
    apiKey: API_KEY,
    externalIdsWithDevices: ['user-1'],
  });
  push = pushWith();
});

afterAll(() => stub.close());

beforeEach(() => stub.reset());

describe('OneSignalPush', () => {
  it('sends the push the SDK builds to the owner and reports its id', async () => {
    const outcome = await push.sendRelink(makeRequest());

    const [delivered] = stub.pushes();
    expect(outcome).toEqual({ kind: 'sent', notificationId: delivered?.id });
    expect(delivered).toMatchObject({
      externalIds: ['user-1'],
      appUrl: 'momofinance://accounts/acc-1/relink',
      data: { accountId: 'acc-1', reason: 'link_expired', episode: 1 },
      idempotencyKey: relinkIdempotencyKey('acc-1', 1),
    });
  });

  it('sends the heading and text in English and French', async () => {
    await push.sendRelink(makeRequest({ reason: 'link_revoked' }));

    const [delivered] = stub.pushes();
    expect(Object.keys(delivered?.headings ?? {})).toEqual(['en', 'fr']);
    expect(Object.keys(delivered?.contents ?? {})).toEqual(['en', 'fr']);
    expect(delivered?.contents.fr).toMatch(/portefeuille MoMo/);
  });

  it('delivers one push however often the same episode is sent', async () => {
    const outcomes = [];
    for (let i = 0; i < 3; i += 1) outcomes.push(await push.sendRelink(makeRequest()));

    expect(stub.pushes()).toHaveLength(1);
    expect(new Set(outcomes.map((o) => (o.kind === 'sent' ? o.notificationId : o.kind))).size).toBe(
      1,
    );
  });

  it('reports no recipients when the owner has no device', async () => {
    const outcome = await push.sendRelink(makeRequest({ ownerId: 'user-without-app' }));

    expect(outcome).toEqual({ kind: 'no_recipients' });
    expect(stub.pushes()).toEqual([]);
  });

  it('asks to retry after Retry-After on a 429', async () => {
    stub.failNext(1, { status: 429, retryAfterSeconds: 42 });

    const outcome = await push.sendRelink(makeRequest());

    expect(outcome).toEqual({ kind: 'retry', retryAfterMs: 42_000, reason: 'rate_limited' });
  });

  it.each([500, 502, 503] as const)('asks to retry on a %i', async (status) => {
    stub.failNext(1, { status });

    const outcome = await push.sendRelink(makeRequest());

    expect(outcome).toEqual({
      kind: 'retry',
      retryAfterMs: DEFAULT_RETRY_AFTER_MS,
      reason: `http_${status}`,
    });
  });

  it('reports a 400 as permanent with OneSignal message', async () => {
    stub.failNext(1, { status: 400, errors: ['Included players must be an array'] });

    const outcome = await push.sendRelink(makeRequest());

    expect(outcome).toEqual({
      kind: 'permanent',
      reason: 'http_400',
      detail: 'Included players must be an array',
    });
  });

  it('reports a rejected key and says so to its owner', async () => {
    let rejected = 0;
    const wrongKey = pushWith({
      apiKey: 'wrong',
      onKeyRejected: () => {
        rejected += 1;
      },
    });

    const outcome = await wrongKey.sendRelink(makeRequest());

    expect(outcome).toMatchObject({ kind: 'permanent', reason: 'api_key_rejected' });
    expect(rejected).toBe(1);
  });

  it('reads the key through the function it was given', async () => {
    let reads = 0;
    const lazy = pushWith({
      apiKey: async () => {
        reads += 1;
        return API_KEY;
      },
    });

    const outcome = await lazy.sendRelink(makeRequest());

    expect(outcome.kind).toBe('sent');
    expect(reads).toBe(1);
  });

  it('asks to retry when nothing answers', async () => {
    const nowhere = pushWith({ baseUrl: 'http://127.0.0.1:9' });

    const outcome = await nowhere.sendRelink(makeRequest());

    expect(outcome).toEqual({
      kind: 'retry',
      retryAfterMs: DEFAULT_RETRY_AFTER_MS,
      reason: 'network',
    });
  });
});
