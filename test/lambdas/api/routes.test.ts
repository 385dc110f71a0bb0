/**
 * The app API's routes against dynalite and local-aws-sqs, through the real handler and
 * adapters. Every response is held to docs/openapi.yaml, and the last test proves that every
 * response the document lists for the handler was produced here.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiAccountStore } from '../../../core/api/ports';
import type { RouteKey } from '../../../core/api/routes';
import { AccountsApi } from '../../../core/api/service';
import type { Account, SyncMessage } from '../../../core/model';
import { createApiHandler } from '../../../lambdas/api/app';
import { ACCOUNTS_TABLE, MANUAL_QUEUE } from '../../../lib/resources';
import {
  type ApiRequestSpec,
  type ApiTestBed,
  invoke,
  startApiTestBed,
  TestClock,
} from '../../support/api';
import { accountFactory, storedTransactionFactory, syncRunFactory } from '../../support/dynamo';
import { openApiChecker } from '../../support/openapi';

let bed: ApiTestBed;
const checker = openApiChecker();

beforeAll(async () => {
  bed = await startApiTestBed();
});

afterAll(async () => {
  await bed?.close();
});

/** Calls the handler and holds the response to the OpenAPI document. */
async function call(spec: ApiRequestSpec, handler = bed.handler) {
  const response = await invoke(handler, spec);
  const [method, path] = spec.route.split(' ') as [string, string];
  checker.check(method, path, response);
  return response;
}

async function seed(overrides: Partial<Account> = {}): Promise<Account> {
  const account = accountFactory({ ownerId: 'user-a', ...overrides });
  await bed.accounts.create(account);
  return account;
}

const MINUTE = 60_000;

describe('GET /accounts', () => {
  it('lists only the caller’s accounts with their sync state', async () => {
    const mine = await seed({
      ownerId: 'lister',
      balanceMinor: 12_345,
      lastSyncedAt: '2026-03-02T11:00:00.000Z',
      lastAttemptAt: '2026-03-02T11:00:00.000Z',
      dueAt: '2026-03-03T11:00:00.000Z',
      syncIntervalMinutes: 120,
      relinkPushes: false,
    });
    await seed({ ownerId: 'someone-else' });

    const response = await call({ route: 'GET /accounts', sub: 'lister' });

    expect(response.statusCode).toBe(200);
    expect(response.body.items).toEqual([
      {
        id: mine.accountId,
        name: mine.name,
        type: 'momo_wallet',
        currency: 'GHS',
        balance_minor: 12_345,
        sync_status: 'active',
        last_synced_at: '2026-03-02T11:00:00.000Z',
        last_sync_attempt: '2026-03-02T11:00:00.000Z',
        last_error_code: null,
        syncing: false,
        next_sync_at: '2026-03-03T11:00:00.000Z',
        settings: { sync_interval_minutes: 120, relink_pushes: false },
        actions: { sync: true, relink: false, sync_available_at: null },
      },
    ]);
  });

  it('answers an empty list to a user without accounts', async () => {
    const response = await call({ route: 'GET /accounts', sub: 'nobody-yet' });

    expect(response.statusCode).toBe(200);
    expect(response.body).toEqual({ items: [] });
  });

  it.each([
    {
      state: 'waiting for a re-link',
      overrides: { syncStatus: 'auth_required' as const },
      actions: { sync: false, relink: true, sync_available_at: null },
      syncing: false,
    },
    {
      state: 'being synced',
      overrides: { leaseOwner: 'sync-1', leaseExpiresAt: '2026-03-02T12:01:00.000Z' },
      actions: { sync: false, relink: false, sync_available_at: null },
      syncing: true,
    },
    {
      state: 'within its manual-sync interval',
      overrides: { lastManualSyncAt: '2026-03-02T11:58:00.000Z' },
      actions: { sync: false, relink: false, sync_available_at: '2026-03-02T12:03:00.000Z' },
      syncing: false,
    },
    {
      state: 'holding an expired lease',
      overrides: { leaseOwner: 'sync-1', leaseExpiresAt: '2026-03-02T11:00:00.000Z' },
      actions: { sync: true, relink: false, sync_available_at: null },
      syncing: false,
    },
  ])(
    'tells the app what to offer for an account $state',
    async ({ overrides, actions, syncing }) => {
      const owner = `offer-${Math.random()}`;
      await seed({ ownerId: owner, ...overrides });
      const clock = new TestClock('2026-03-02T12:00:00.000Z');

      const response = await call(
        { route: 'GET /accounts', sub: owner },
        bed.handlerWith({}, clock),
      );

      expect(response.body.items[0].actions).toEqual(actions);
      expect(response.body.items[0].syncing).toBe(syncing);
    },
  );

  it('hides the next sync of an account that waits for a re-link', async () => {
    await seed({ ownerId: 'relinker', syncStatus: 'auth_required' });

    const response = await call({ route: 'GET /accounts', sub: 'relinker' });

    expect(response.body.items[0].next_sync_at).toBeNull();
  });

  it('refuses a query string', async () => {
    const response = await call({ route: 'GET /accounts', query: { owner: 'user-b' } });

    expect(response.statusCode).toBe(400);
    expect(response.body.error).toEqual({
      code: 'invalid_request',
      message: 'unknown query parameter(s): owner.',
    });
  });
});

describe('POST /accounts/{id}/sync', () => {
  it('queues a manual sync and names the run', async () => {
    const account = await seed();

    const response = await call({ route: 'POST /accounts/{id}/sync', id: account.accountId });

    expect(response.statusCode).toBe(202);
    expect(response.body).toEqual({
      account_id: account.accountId,
      status: 'queued',
      run_id: expect.any(String),
      trigger: 'manual',
      requested_at: bed.clock.iso(),
    });
    expect(await bed.takeQueued()).toEqual([
      { accountId: account.accountId, trigger: 'manual', runId: response.body.run_id },
    ]);
  });

  it('accepts an empty JSON object as the body', async () => {
    const account = await seed();

    const response = await call({
      route: 'POST /accounts/{id}/sync',
      id: account.accountId,
      body: {},
    });

    expect(response.statusCode).toBe(202);
    await bed.takeQueued();
  });

  it('answers 429 with Retry-After within the interval, and queues again after it', async () => {
    const account = await seed();
    const sync = { route: 'POST /accounts/{id}/sync' as const, id: account.accountId };
    await call(sync);
    bed.clock.advance(100_000);

    const limited = await call(sync);
    bed.clock.advance(200_000);
    const again = await call(sync);

    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('200');
    expect(limited.body.error.code).toBe('sync_rate_limited');
    expect(again.statusCode).toBe(202);
    expect(await bed.takeQueued()).toHaveLength(2);
  });

  it('queues one sync when many requests race for the same account', async () => {
    const account = await seed();

    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        call({ route: 'POST /accounts/{id}/sync', id: account.accountId }),
      ),
    );

    expect(responses.map((r) => r.statusCode).sort()).toEqual([202, 429, 429, 429, 429]);
    expect(await bed.takeQueued()).toHaveLength(1);
  });

  it('answers 409 relink_required for an account whose link expired', async () => {
    const account = await seed({ syncStatus: 'auth_required' });

    const response = await call({ route: 'POST /accounts/{id}/sync', id: account.accountId });

    expect(response.statusCode).toBe(409);
    expect(response.body.error.code).toBe('relink_required');
    expect(await bed.takeQueued()).toEqual([]);
  });

  it('reports a sync that is already running instead of queueing a second one', async () => {
    const account = await seed({ leaseOwner: 'sync-1', leaseExpiresAt: bed.clock.iso(MINUTE) });

    const response = await call({ route: 'POST /accounts/{id}/sync', id: account.accountId });

    expect(response.statusCode).toBe(200);
    expect(response.body).toMatchObject({ status: 'running', run_id: null, trigger: null });
    expect(await bed.takeQueued()).toEqual([]);
    expect((await bed.accounts.get(account.accountId, true))?.lastManualSyncAt).toBeUndefined();
  });

  it('answers 409 conflict when the account keeps changing under the request', async () => {
    const account = await seed();
    const queued: SyncMessage[] = [];
    // Every conditional update loses to a writer that got there first.
    const racing: ApiAccountStore = {
      get: (id, consistent) => bed.accounts.get(id, consistent),
      listByOwner: (owner) => bed.accounts.listByOwner(owner),
      update: async (id) => ({ updated: false, account: await bed.accounts.get(id, true) }),
    };
    const api = new AccountsApi(
      {
        accounts: racing,
        transactions: bed.transactions,
        syncRuns: bed.syncRuns,
        manualQueue: {
          enqueue: async (messages) => {
            queued.push(...messages);
            return { failed: [], requests: 1 };
          },
        },
        clock: bed.clock,
        newRunId: () => 'run-never',
      },
      bed.settings,
    );
    const handler = createApiHandler({
      api,
      settings: bed.settings,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'MomoSyncTest' }),
    });

    const response = await call(
      { route: 'POST /accounts/{id}/sync', id: account.accountId },
      handler,
    );

    expect(response.statusCode).toBe(409);
    expect(response.body.error.code).toBe('conflict');
    expect(queued).toEqual([]);
  });

  it('answers 500 without details and lifts the rate limit when the queue refuses', async () => {
    const account = await seed();
    const broken = bed.handlerWith({ [MANUAL_QUEUE.env]: `${bed.manualQueue.url}-missing` });

    const failed = await call({ route: 'POST /accounts/{id}/sync', id: account.accountId }, broken);
    const retried = await call({ route: 'POST /accounts/{id}/sync', id: account.accountId });

    expect(failed.statusCode).toBe(500);
    expect(failed.body).toEqual({
      error: {
        code: 'internal_error',
        message: 'Something went wrong on our side: try again later.',
      },
    });
    expect(retried.statusCode).toBe(202);
    await bed.takeQueued();
  });

  it('refuses a body with fields', async () => {
    const account = await seed();

    const response = await call({
      route: 'POST /accounts/{id}/sync',
      id: account.accountId,
      body: { force: true },
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error.message).toBe('the body has unknown field(s): force.');
  });
});

describe('GET /accounts/{id}/sync-runs', () => {
  it('pages through the runs newest first', async () => {
    const account = await seed();
    const starts = ['01', '02', '03', '04', '05'].map((day) => `2026-03-${day}T06:00:00.000Z`);
    for (const startedAt of starts) {
      await bed.syncRuns.record(syncRunFactory({ accountId: account.accountId, startedAt }));
    }

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await call({
        route: 'GET /accounts/{id}/sync-runs',
        id: account.accountId,
        query: { limit: '2', ...(cursor ? { cursor } : {}) },
      });
      expect(response.statusCode).toBe(200);
      seen.push(...response.body.items.map((run: { started_at: string }) => run.started_at));
      cursor = response.body.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);

    expect(seen).toEqual([...starts].reverse());
  });

  it('maps a run to the documented fields', async () => {
    const account = await seed();
    const run = syncRunFactory({
      accountId: account.accountId,
      trigger: 'manual',
      outcome: 'transient_error',
      errorCode: 'transient:SERVICE_UNAVAILABLE',
    });
    await bed.syncRuns.record(run);

    const response = await call({ route: 'GET /accounts/{id}/sync-runs', id: account.accountId });

    expect(response.body).toEqual({
      items: [
        {
          run_id: run.runId,
          trigger: 'manual',
          outcome: 'transient_error',
          started_at: run.startedAt,
          finished_at: run.finishedAt,
          duration_ms: run.durationMs,
          counts: { added: 2, updated: 1, unchanged: 5, removed: 0 },
          error_code: 'transient:SERVICE_UNAVAILABLE',
        },
      ],
      next_cursor: null,
    });
  });

  it.each([
    ['limit', '0'],
    ['limit', '101'],
    ['limit', 'ten'],
    ['limit', '1.5'],
    ['cursor', 'not a cursor'],
    ['cursor', Buffer.from('{"accountId":"other","sk":"x"}').toString('base64url')],
    ['cursor', Buffer.from('[1,2]').toString('base64url')],
    ['cursor', ''],
    ['page', '2'],
  ])('answers 400 to %s=%j', async (name, value) => {
    const account = await seed();

    const response = await call({
      route: 'GET /accounts/{id}/sync-runs',
      id: account.accountId,
      query: { [name]: value },
    });

    expect(response.statusCode).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
  });
});

describe('GET /accounts/{id}/transactions', () => {
  let account: Account;
  const days = ['01', '02', '03', '04', '05', '06'];

  beforeAll(async () => {
    account = await seed({ ownerId: 'spender' });
    for (const day of days) {
      await bed.transactions.write(
        storedTransactionFactory({
          accountId: account.accountId,
          ref: `ft-${day}`,
          createdAt: `2026-03-${day}T10:00:00.000Z`,
        }),
        { kind: 'new' },
      );
    }
  });

  const list = (query: Record<string, string>) =>
    call({
      route: 'GET /accounts/{id}/transactions',
      sub: 'spender',
      id: account.accountId,
      query,
    });

  it('pages newest first with an opaque cursor', async () => {
    const first = await list({ limit: '4' });
    const second = await list({ limit: '4', cursor: first.body.next_cursor });

    expect(first.body.items.map((t: { ref: string }) => t.ref)).toEqual([
      'ft-06',
      'ft-05',
      'ft-04',
      'ft-03',
    ]);
    expect(second.body.items.map((t: { ref: string }) => t.ref)).toEqual(['ft-02', 'ft-01']);
    expect(second.body.next_cursor).toBeNull();
  });

  it('filters by creation time, both ends inclusive, whatever offset they are written in', async () => {
    const response = await list({ from: '2026-03-02T11:00:00+01:00', to: '2026-03-04T10:00:00Z' });

    expect(response.body.items.map((t: { ref: string }) => t.ref)).toEqual([
      'ft-04',
      'ft-03',
      'ft-02',
    ]);
  });

  it('maps a transaction to the documented fields', async () => {
    const response = await list({ limit: '1' });

    expect(response.body.items[0]).toEqual({
      ref: 'ft-06',
      external_id: 'order-1001',
      amount_minor: 2_500,
      currency: 'GHS',
      direction: 'DEBIT',
      status: 'SUCCESSFUL',
      counterparty: '******4321',
      description: 'Market stall',
      created_at: '2026-03-06T10:00:00.000Z',
      updated_at: '2026-03-01T10:00:00.000Z',
      removed_at: null,
    });
  });

  it('refuses a cursor reused with a range it does not belong to', async () => {
    const first = await list({ limit: '2' });

    const response = await list({ cursor: first.body.next_cursor, to: '2026-03-02T00:00:00Z' });

    expect(response.statusCode).toBe(400);
    expect(response.body.error.message).toBe('cursor does not belong to this from/to range.');
  });

  it.each([
    [{ from: 'yesterday' }, 'from must be an RFC 3339 date-time, e.g. 2026-03-01T00:00:00Z.'],
    [{ to: '2026-03-01' }, 'to must be an RFC 3339 date-time, e.g. 2026-03-01T00:00:00Z.'],
    [
      { from: '2026-02-30T00:00:00Z' },
      'from must be an RFC 3339 date-time, e.g. 2026-03-01T00:00:00Z.',
    ],
    [{ from: '2026-03-05T00:00:00Z', to: '2026-03-01T00:00:00Z' }, 'from must not be after to.'],
    [{ limit: '-1' }, 'limit must be a whole number from 1 to 100.'],
    [{ sort: 'asc' }, 'unknown query parameter(s): sort.'],
  ])('answers 400 to %j', async (query, message) => {
    const response = await list(query);

    expect(response.statusCode).toBe(400);
    expect(response.body.error.message).toBe(message);
  });
});

describe('POST /accounts/{id}/relink', () => {
  const relink = (id: string, body: unknown, extra: Partial<ApiRequestSpec> = {}) =>
    call({ route: 'POST /accounts/{id}/relink', id, body, ...extra });

  it('records the link, closes the episode, reactivates the account and queues a relink sync', async () => {
    const account = await seed({
      syncStatus: 'auth_required',
      consecutiveFailures: 2,
      lastErrorCode: 'account_auth:UNAUTHORIZED',
      reauth: {
        episode: 3,
        openedAt: '2026-03-01T06:00:00.000Z',
        notifiedAt: '2026-03-01T06:01:00.000Z',
      },
    });

    const response = await relink(account.accountId, { link_reference: 'consent-new-42' });

    expect(response.statusCode).toBe(202);
    expect(response.body.account).toMatchObject({
      id: account.accountId,
      sync_status: 'active',
      last_error_code: null,
      actions: { relink: false },
    });
    expect(response.body.sync).toMatchObject({ status: 'queued', trigger: 'relink' });
    const stored = await bed.accounts.get(account.accountId, true);
    expect(stored).toMatchObject({
      walletId: 'consent-new-42',
      syncStatus: 'active',
      consecutiveFailures: 0,
      dueAt: bed.clock.iso(),
      reauth: { episode: 3, closedAt: bed.clock.iso() },
    });
    expect(stored?.lastErrorCode).toBeUndefined();
    expect(await bed.takeQueued()).toEqual([
      { accountId: account.accountId, trigger: 'relink', runId: response.body.sync.run_id },
    ]);
  });

  it('shares the manual-sync interval with the sync it queued', async () => {
    const account = await seed({ syncStatus: 'auth_required' });
    await relink(account.accountId, { link_reference: 'consent-1' });

    const response = await call({ route: 'POST /accounts/{id}/sync', id: account.accountId });

    expect(response.statusCode).toBe(429);
    await bed.takeQueued();
  });

  it('rate limits a re-link of an account that did not need one', async () => {
    const account = await seed({ lastManualSyncAt: bed.clock.iso(-MINUTE) });

    const response = await relink(account.accountId, { link_reference: 'consent-2' });

    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('240');
  });

  it('answers 409 sync_running while a sync holds the account', async () => {
    const account = await seed({ leaseOwner: 'sync-1', leaseExpiresAt: bed.clock.iso(MINUTE) });

    const response = await relink(account.accountId, { link_reference: 'consent-3' });

    expect(response.statusCode).toBe(409);
    expect(response.body.error.code).toBe('sync_running');
    expect((await bed.accounts.get(account.accountId, true))?.walletId).toBe(account.walletId);
  });

  it.each([
    [{}, 'link_reference must be a string.'],
    [{ link_reference: '' }, 'link_reference must not be empty.'],
    [{ link_reference: 'x'.repeat(129) }, 'link_reference must be at most 128 characters.'],
    [
      { link_reference: '+233241234567' },
      'link_reference looks like a phone number: send the link reference.',
    ],
    [{ link_reference: 'a b' }, 'link_reference must be letters, digits, ".", ":", "-" or "_".'],
    [{ link_reference: 'ok-1', walletId: 'x' }, 'the body has unknown field(s): walletId.'],
    [[], 'body must be an object.'],
    ['{"link_reference":', 'the body is not valid JSON.'],
  ])('answers 400 to the body %j', async (body, message) => {
    const account = await seed({ syncStatus: 'auth_required' });

    const response = await relink(account.accountId, body);

    expect(response.statusCode).toBe(400);
    expect(response.body.error.message).toBe(message);
  });

  it('reads a base64-encoded body', async () => {
    const account = await seed({ syncStatus: 'auth_required' });

    const response = await relink(
      account.accountId,
      { link_reference: 'consent-5' },
      { base64: true },
    );

    expect(response.statusCode).toBe(202);
    await bed.takeQueued();
  });
});

describe('PATCH /accounts/{id}/settings', () => {
  const patch = (id: string, body: unknown) =>
    call({ route: 'PATCH /accounts/{id}/settings', id, body });

  it('stores the interval and the push preference', async () => {
    const account = await seed();

    const response = await patch(account.accountId, {
      sync_interval_minutes: 720,
      relink_pushes: false,
    });

    expect(response.statusCode).toBe(200);
    expect(response.body.settings).toEqual({ sync_interval_minutes: 720, relink_pushes: false });
    expect(await bed.accounts.get(account.accountId, true)).toMatchObject({
      syncIntervalMinutes: 720,
      relinkPushes: false,
    });
  });

  it('goes back to the operators’ default on null', async () => {
    const account = await seed({ syncIntervalMinutes: 120 });

    const response = await patch(account.accountId, { sync_interval_minutes: null });

    expect(response.body.settings.sync_interval_minutes).toBeNull();
    expect((await bed.accounts.get(account.accountId, true))?.syncIntervalMinutes).toBeUndefined();
  });

  it('brings the next sync forward when the interval gets shorter', async () => {
    const account = await seed({
      lastSyncedAt: bed.clock.iso(-30 * MINUTE),
      dueAt: bed.clock.iso(23 * 60 * MINUTE),
    });

    const response = await patch(account.accountId, { sync_interval_minutes: 60 });

    expect(response.body.next_sync_at).toBe(bed.clock.iso(30 * MINUTE));
  });

  it('leaves the due time of an account in backoff alone', async () => {
    const dueAt = bed.clock.iso(10 * 60 * MINUTE);
    const account = await seed({ consecutiveFailures: 3, dueAt });

    const response = await patch(account.accountId, { sync_interval_minutes: 60 });

    expect(response.body.next_sync_at).toBe(dueAt);
  });

  it.each([
    [{ sync_interval_minutes: 59 }, 'sync_interval_minutes must be at least 60.'],
    [{ sync_interval_minutes: 10_081 }, 'sync_interval_minutes must be at most 10080.'],
    [{ sync_interval_minutes: 90.5 }, 'sync_interval_minutes must be a whole number.'],
    [{ sync_interval_minutes: '90' }, 'sync_interval_minutes must be a whole number.'],
    [{ relink_pushes: 'no' }, 'relink_pushes must be a boolean.'],
    [{}, 'the body must set sync_interval_minutes or relink_pushes.'],
    [{ relink_pushes: true, owner_id: 'user-b' }, 'the body has unknown field(s): owner_id.'],
  ])('answers 400 to %j', async (body, message) => {
    const account = await seed();

    const response = await patch(account.accountId, body);

    expect(response.statusCode).toBe(400);
    expect(response.body.error.message).toBe(message);
  });
});

const ACCOUNT_ROUTES: { route: RouteKey; body?: unknown }[] = [
  { route: 'POST /accounts/{id}/sync', body: {} },
  { route: 'GET /accounts/{id}/sync-runs' },
  { route: 'GET /accounts/{id}/transactions' },
  { route: 'POST /accounts/{id}/relink', body: { link_reference: 'consent-9' } },
  { route: 'PATCH /accounts/{id}/settings', body: { relink_pushes: false } },
];

const BODY_ROUTES = ACCOUNT_ROUTES.filter(({ route }) => route.startsWith('P'));
const READ_ROUTES: RouteKey[] = [
  'GET /accounts',
  'GET /accounts/{id}/sync-runs',
  'GET /accounts/{id}/transactions',
];

describe('ownership', () => {
  it.each(ACCOUNT_ROUTES)(
    '$route answers 404 for another user’s account, as for none',
    async ({ route, body }) => {
      const theirs = await seed({ ownerId: 'user-b', syncStatus: 'auth_required' });

      const foreign = await call({ route, id: theirs.accountId, body });
      const missing = await call({ route, id: 'acc-does-not-exist', body });

      expect(foreign.statusCode).toBe(404);
      expect(foreign.body).toEqual(missing.body);
      expect(await bed.accounts.get(theirs.accountId, true)).toEqual(theirs);
      expect(await bed.takeQueued()).toEqual([]);
    },
  );

  it.each([{ route: 'GET /accounts' as RouteKey }, ...ACCOUNT_ROUTES])(
    '$route answers 401 to a token without a subject',
    async ({ route, body }) => {
      const response = await call({ route, id: 'acc-1', body, sub: null });

      expect(response.statusCode).toBe(401);
      expect(response.body.error.code).toBe('unauthorized');
    },
  );
});

describe('hostile input', () => {
  it.each([
    "acc-1' OR '1'='1",
    'acc-1"}',
    '../acc-1',
    'acc-1;DROP TABLE accounts',
    '<script>alert(1)</script>',
    ['$', '{jndi:ldap://x}'].join(''),
    'acc\u0000',
    'a'.repeat(65),
    '-leading-dash',
  ])('refuses the id %j with 400 before any read', async (id) => {
    const response = await call({ route: 'GET /accounts/{id}/transactions', id });

    expect(response.statusCode).toBe(400);
    expect(response.body.error).toEqual({
      code: 'invalid_request',
      message: 'id must be 1 to 64 letters, digits, "-" or "_".',
    });
  });

  it.each(BODY_ROUTES)(
    '$route answers 413 to a body over 4 KiB, before reading it',
    async ({ route, body }) => {
      const account = await seed({ syncStatus: 'auth_required' });

      const response = await call({
        route,
        id: account.accountId,
        body: { ...(body as object), pad: 'x'.repeat(5000) },
      });

      expect(response.statusCode).toBe(413);
      expect(response.body.error.code).toBe('payload_too_large');
    },
  );

  it.each(READ_ROUTES)(
    '%s ignores a body, however large, as the document has no 413',
    async (route) => {
      const account = await seed();

      const response = await call({
        route,
        id: account.accountId,
        body: { pad: 'x'.repeat(5000) },
      });

      expect(response.statusCode).toBe(200);
    },
  );

  it.each(BODY_ROUTES)('$route answers 415 to a body not sent as JSON', async ({ route }) => {
    const account = await seed({ syncStatus: 'auth_required' });

    const response = await call({
      route,
      id: account.accountId,
      body: 'relink_pushes=false',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

    expect(response.statusCode).toBe(415);
    expect(response.body.error.code).toBe('unsupported_media_type');
  });

  it('answers 404 to a route it does not serve', async () => {
    const event = { route: 'DELETE /accounts/{id}' as RouteKey, id: 'acc-1' };

    const response = await invoke(bed.handler, event);

    expect(response.statusCode).toBe(404);
    expect(response.body.error.code).toBe('not_found');
  });

  it.each([{ route: 'GET /accounts' as RouteKey }, ...ACCOUNT_ROUTES])(
    '$route answers 500 without internal details when storage fails',
    async ({ route, body }) => {
      const broken = bed.handlerWith({ [ACCOUNTS_TABLE.env]: 'no-such-table' });

      const response = await call({ route, id: 'acc-1', body }, broken);

      expect(response.statusCode).toBe(500);
      expect(JSON.stringify(response.body)).not.toMatch(/table|dynamo|exception|stack/i);
    },
  );
});

describe('the OpenAPI document', () => {
  it('has every response the handler can produce exercised above', () => {
    // 401 from the authorizer and 429 from stage throttling are API Gateway's own: the local
    // HTTP API tests cover the first, the second has no emulation.
    const gatewayOnly = (key: string) =>
      key.endsWith(' 429') &&
      !key.startsWith('POST /accounts/{id}/sync ') &&
      !key.startsWith('POST /accounts/{id}/relink ');

    expect(checker.unchecked().filter((key) => !gatewayOnly(key))).toEqual([]);
  });
});
