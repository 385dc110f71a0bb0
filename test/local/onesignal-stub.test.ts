import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ONESIGNAL_MESSAGES,
  type RunningOneSignalStub,
  startOneSignalStub,
} from '../../local/onesignal-stub';

const APP_ID = '5eb5a37e-b458-11e3-ac11-000c2940e62c';
const API_KEY = 'os_v2_app_stubkey';
const DAY = 24 * 3600 * 1000;

let stub: RunningOneSignalStub;
let now = new Date('2026-03-10T02:00:00.000Z');

beforeAll(async () => {
  stub = await startOneSignalStub({
    appId: APP_ID,
    apiKey: API_KEY,
    externalIdsWithDevices: ['user-1', 'user-2'],
    now: () => now,
  });
});

afterAll(() => stub.close());

beforeEach(() => {
  stub.reset();
  now = new Date('2026-03-10T02:00:00.000Z');
});

const makeMessage = (overrides: Record<string, unknown> = {}) => ({
  app_id: APP_ID,
  include_aliases: { external_id: ['user-1'] },
  target_channel: 'push',
  headings: { en: 'Hello', fr: 'Bonjour' },
  contents: { en: 'Body', fr: 'Corps' },
  app_url: 'app://accounts/acc-1/relink',
  data: { accountId: 'acc-1' },
  idempotency_key: randomUUID(),
  ...overrides,
});

async function post(body: unknown, key = API_KEY) {
  const response = await fetch(`${stub.url}/notifications`, {
    method: 'POST',
    headers: { authorization: `Key ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as { id?: string; errors?: unknown },
  };
}

describe('OneSignal stub', () => {
  it('delivers a valid push and records it', async () => {
    const message = makeMessage();

    const answer = await post(message);

    expect(answer.status).toBe(200);
    expect(answer.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(stub.pushes()).toEqual([
      expect.objectContaining({
        id: answer.body.id,
        externalIds: ['user-1'],
        appUrl: 'app://accounts/acc-1/relink',
        idempotencyKey: message.idempotency_key,
      }),
    ]);
  });

  it('refuses a request without the app key', async () => {
    const answer = await post(makeMessage(), 'not-the-key');

    expect(answer.status).toBe(403);
    expect(answer.body.errors).toEqual([ONESIGNAL_MESSAGES.invalidApiKey]);
    expect(stub.pushes()).toEqual([]);
  });

  it.each([
    ['another app id', { app_id: randomUUID() }],
    ['no targeting', { include_aliases: undefined }],
    ['aliases without a channel', { target_channel: undefined }],
    ['aliases mixed with segments', { included_segments: ['Subscribed Users'] }],
    ['an unknown alias label', { include_aliases: { user_id: ['user-1'] } }],
    ['an empty alias list', { include_aliases: { external_id: [] } }],
    ['no English content', { contents: { fr: 'Corps' } }],
    ['a key that is not a UUID', { idempotency_key: 'acc-1#2' }],
  ])('answers 400 to %s', async (_case, overrides) => {
    const answer = await post(makeMessage(overrides));

    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([expect.any(String)]);
    expect(stub.pushes()).toEqual([]);
  });

  it('answers a repeated idempotency key with the first result and delivers nothing new', async () => {
    const message = makeMessage();
    const first = await post(message);

    const second = await post(message);

    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(stub.pushes()).toHaveLength(1);
  });

  it('delivers again once the key is older than 30 days', async () => {
    const message = makeMessage();
    const first = await post(message);
    now = new Date(now.getTime() + 30 * DAY);

    const second = await post(message);

    expect(second.body.id).not.toBe(first.body.id);
    expect(stub.pushes()).toHaveLength(2);
  });

  it('answers 200 with no id when the user has no device', async () => {
    const answer = await post(makeMessage({ include_aliases: { external_id: ['user-9'] } }));

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ id: '', errors: [ONESIGNAL_MESSAGES.noSubscribers] });
    expect(stub.pushes()).toEqual([]);
  });

  it('delivers to the users who have a device and names the others', async () => {
    const answer = await post(makeMessage({ include_aliases: { external_id: ['user-2', 'x'] } }));

    expect(answer.body.errors).toEqual({ invalid_aliases: { external_id: ['x'] } });
    expect(stub.pushes()[0]?.externalIds).toEqual(['user-2']);
  });

  it('learns new devices', async () => {
    stub.addDevice('user-3');

    const answer = await post(makeMessage({ include_aliases: { external_id: ['user-3'] } }));

    expect(answer.body.id).not.toBe('');
  });

  it('gives every user a device when told all have one', async () => {
    const open = await startOneSignalStub({
      appId: APP_ID,
      apiKey: API_KEY,
      externalIdsWithDevices: 'all',
    });
    try {
      const response = await fetch(`${open.url}/notifications`, {
        method: 'POST',
        headers: { authorization: `Key ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(makeMessage({ include_aliases: { external_id: ['anyone'] } })),
      });

      expect(((await response.json()) as { id: string }).id).not.toBe('');
      expect(open.pushes().map((push) => push.externalIds)).toEqual([['anyone']]);
    } finally {
      await open.close();
    }
  });

  it('fails the next requests as told, then recovers', async () => {
    stub.failNext(2, { status: 429, retryAfterSeconds: 9 });

    const answers = [
      await post(makeMessage()),
      await post(makeMessage()),
      await post(makeMessage()),
    ];

    expect(answers.map((a) => a.status)).toEqual([429, 429, 200]);
    expect(answers[0]?.headers.get('retry-after')).toBe('9');
    expect(answers[0]?.body.errors).toEqual([ONESIGNAL_MESSAGES.rateLimited]);
    expect(stub.requests()).toBe(3);
    expect(stub.pushes()).toHaveLength(1);
  });

  it('lists the recorded pushes over HTTP', async () => {
    await post(makeMessage());

    const listed = await (await fetch(`${stub.url}/_stub/pushes`)).json();

    expect(listed).toEqual(stub.pushes());
  });
});
