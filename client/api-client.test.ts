import { describe, expect, it } from 'vitest';
import { type ClientOptions, MomoSyncClient, parseRetryAfter } from './api-client';
import { ApiError, NetworkError } from './errors';

interface Scripted {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Throws like fetch does when there is no connection. */
  offline?: boolean;
}

interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** A fetch that answers from a script, one entry per call, and records what it was sent. */
function scriptedFetch(script: Scripted[]) {
  const sent: SentRequest[] = [];
  const fetch = (async (input: string, init: RequestInit = {}) => {
    sent.push({
      method: init.method ?? 'GET',
      url: input,
      headers: init.headers as Record<string, string>,
      ...(typeof init.body === 'string' ? { body: init.body } : {}),
    });
    const next = script.shift();
    if (!next) throw new Error('no scripted response left');
    if (next.offline) throw new TypeError('fetch failed');
    return new Response(next.body === undefined ? '' : JSON.stringify(next.body), {
      status: next.status ?? 200,
      headers: { 'content-type': 'application/json', ...next.headers },
    });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, sent };
}

function clientWith(script: Scripted[], options: Partial<ClientOptions> = {}) {
  const { fetch, sent } = scriptedFetch(script);
  const sleeps: number[] = [];
  let tokens = 0;
  const client = new MomoSyncClient({
    baseUrl: 'https://api.test/',
    getToken: async () => `token-${++tokens}`,
    fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    ...options,
  });
  return { client, sent, sleeps };
}

const queued = {
  account_id: 'acc-1',
  status: 'queued',
  run_id: 'run-1',
  trigger: 'manual',
  requested_at: '2026-03-02T12:00:00.000Z',
};
const rateLimited = (seconds: string) => ({
  status: 429,
  headers: { 'retry-after': seconds },
  body: { error: { code: 'sync_rate_limited', message: 'wait' } },
});

describe('MomoSyncClient', () => {
  it.each([
    {
      call: (c: MomoSyncClient) => c.listAccounts(),
      method: 'GET',
      url: 'https://api.test/accounts',
    },
    {
      call: (c: MomoSyncClient) => c.requestSync('acc 1'),
      method: 'POST',
      url: 'https://api.test/accounts/acc%201/sync',
    },
    {
      call: (c: MomoSyncClient) => c.listSyncRuns('acc-1', { limit: 5, cursor: 'abc' }),
      method: 'GET',
      url: 'https://api.test/accounts/acc-1/sync-runs?limit=5&cursor=abc',
    },
    {
      call: (c: MomoSyncClient) =>
        c.listTransactions('acc-1', { from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' }),
      method: 'GET',
      url: 'https://api.test/accounts/acc-1/transactions?from=2026-03-01T00%3A00%3A00Z&to=2026-03-02T00%3A00%3A00Z',
    },
    {
      call: (c: MomoSyncClient) => c.relink('acc-1', 'consent-9'),
      method: 'POST',
      url: 'https://api.test/accounts/acc-1/relink',
      body: '{"link_reference":"consent-9"}',
    },
    {
      call: (c: MomoSyncClient) => c.updateSettings('acc-1', { relink_pushes: false }),
      method: 'PATCH',
      url: 'https://api.test/accounts/acc-1/settings',
      body: '{"relink_pushes":false}',
    },
  ])('sends $method $url with the bearer token', async ({ call, method, url, body }) => {
    const { client, sent } = clientWith([{ body: { ok: true } }]);

    await call(client);

    expect(sent).toEqual([
      {
        method,
        url,
        headers: expect.objectContaining({ authorization: 'Bearer token-1' }),
        ...(body ? { body } : {}),
      },
    ]);
  });

  it('waits out a short Retry-After and tries again', async () => {
    const { client, sleeps, sent } = clientWith([rateLimited('2'), { status: 202, body: queued }]);

    const result = await client.requestSync('acc-1');

    expect(result).toEqual(queued);
    expect(sleeps).toEqual([2000]);
    expect(sent).toHaveLength(2);
  });

  it('throws a Retry-After longer than its bound with the seconds to wait', async () => {
    const { client, sleeps } = clientWith([rateLimited('300')]);

    const error = await client.requestSync('acc-1').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429, code: 'sync_rate_limited', retryAfterSeconds: 300 });
    expect(sleeps).toEqual([]);
  });

  it('gives up after its attempts', async () => {
    const unavailable = { status: 503, body: { message: 'Service Unavailable' } };
    const { client, sent, sleeps } = clientWith([unavailable, unavailable, unavailable]);

    const error = await client.listAccounts().catch((e: unknown) => e);

    expect(error).toMatchObject({ status: 503, code: 'gateway' });
    expect(sent).toHaveLength(3);
    expect(sleeps).toEqual([150, 300]);
  });

  it('retries a read that got no answer, but not a sync request', async () => {
    const reads = clientWith([{ offline: true }, { body: { items: [] } }]);
    const syncs = clientWith([{ offline: true }, { status: 202, body: queued }]);

    const list = await reads.client.listAccounts();
    const error = await syncs.client.requestSync('acc-1').catch((e: unknown) => e);

    expect(list).toEqual({ items: [] });
    expect(error).toBeInstanceOf(NetworkError);
    expect(syncs.sent).toHaveLength(1);
  });

  it('asks for a new token once after a 401', async () => {
    const { client, sent } = clientWith([
      { status: 401, body: { message: 'Unauthorized' } },
      { body: { items: [] } },
    ]);

    await client.listAccounts();

    expect(sent.map((request) => request.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-2',
    ]);
  });

  it.each([
    [
      { status: 404, body: { error: { code: 'not_found', message: 'No such account.' } } },
      'not_found',
    ],
    [
      { status: 409, body: { error: { code: 'relink_required', message: 'm' } } },
      'relink_required',
    ],
    [
      { status: 400, body: { error: { code: 'invalid_request', message: 'm' } } },
      'invalid_request',
    ],
  ])('throws %j at once', async (response, code) => {
    const { client, sent } = clientWith([response]);

    const error = await client.requestSync('acc-1').catch((e: unknown) => e);

    expect(error).toMatchObject({ code, status: response.status });
    expect(sent).toHaveLength(1);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120],
    [' 7 ', 7],
    ['Mon, 02 Mar 2026 12:01:00 GMT', 60],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('reads %j as %j seconds', (value, seconds) => {
    expect(parseRetryAfter(value, Date.parse('2026-03-02T12:00:00.000Z'))).toBe(seconds);
  });
});
