/**
 * The app client against the running local API: the emulated HTTP API and JWT authorizer in
 * front of the real handler on dynalite and local-aws-sqs. A stand-in consumer records the run
 * of each queued sync the way the sync-account function would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  type Connectivity,
  describeSyncState,
  MemoryStorage,
  MomoSyncClient,
  NetworkError,
  SyncOutbox,
} from '../../client';
import type { Account } from '../../core/model';
import { systemClock } from '../../core/ports';
import { type RunningLocalApi, startLocalApi } from '../../local/api';
import { type ApiTestBed, startApiTestBed } from '../support/api';
import { accountFactory, storedTransactionFactory, syncRunFactory } from '../support/dynamo';

let bed: ApiTestBed;
let local: RunningLocalApi;
let online = true;

beforeAll(async () => {
  bed = await startApiTestBed({ clock: systemClock });
  local = await startLocalApi({
    handler: bed.handler,
    port: 0,
    demoUsers: ['app-user'],
    stateFile: null,
  });
});

afterAll(async () => {
  await local?.close();
  await bed?.close();
});

/** The device's connection: while it is off, fetch fails as it does without a network. */
const deviceFetch: typeof fetch = async (input, init) => {
  if (!online) throw new TypeError('fetch failed');
  return fetch(input, init);
};

function appClient(sub = 'app-user'): MomoSyncClient {
  return new MomoSyncClient({
    baseUrl: local.url,
    getToken: () => local.mint({ sub }),
    fetch: deviceFetch,
    retry: { maxRetryAfterMs: 2_000, baseDelayMs: 10 },
  });
}

async function seed(overrides: Partial<Account> = {}): Promise<Account> {
  const account = accountFactory({ ownerId: 'app-user', ...overrides });
  await bed.accounts.create(account);
  return account;
}

describe('the client against the local API', () => {
  it('lists the accounts and describes their state', async () => {
    const account = await seed({
      ownerId: 'lister-app',
      lastSyncedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
    });

    const { items } = await appClient('lister-app').listAccounts();

    expect(items.map((item) => item.id)).toEqual([account.accountId]);
    expect(describeSyncState(items[0]!, new Date())).toEqual({
      label: 'Synced 5 min ago',
      tone: 'ok',
      action: 'sync',
    });
  });

  it('queues a sync, then reports the interval as an error with the seconds to wait', async () => {
    const account = await seed();
    const client = appClient();

    const first = await client.requestSync(account.accountId);
    const second = await client.requestSync(account.accountId).catch((e: unknown) => e);

    expect(first).toMatchObject({ status: 'queued', trigger: 'manual' });
    expect(second).toBeInstanceOf(ApiError);
    expect(second).toMatchObject({ status: 429, code: 'sync_rate_limited' });
    expect((second as ApiError).retryAfterSeconds).toBeGreaterThan(290);
    expect(await bed.takeQueued()).toHaveLength(1);
  });

  it('waits out a Retry-After within its bound and gets the sync queued', async () => {
    const interval = bed.settings.manualSyncIntervalSeconds * 1000;
    const account = await seed({
      lastManualSyncAt: new Date(Date.now() - interval + 1_000).toISOString(),
    });

    const result = await appClient().requestSync(account.accountId);

    expect(result.status).toBe('queued');
    expect(await bed.takeQueued()).toHaveLength(1);
  });

  it('waits for the queued sync to finish', async () => {
    const account = await seed();
    const client = appClient();
    const request = await client.requestSync(account.accountId);
    const consumer = (async () => {
      const [message] = await bed.takeQueued();
      const startedAt = new Date().toISOString();
      await bed.syncRuns.record(
        syncRunFactory({
          accountId: account.accountId,
          runId: message!.runId,
          trigger: 'manual',
          startedAt,
          finishedAt: startedAt,
        }),
      );
    })();

    const result = await client.waitForSync(request, { initialDelayMs: 20, timeoutMs: 10_000 });
    await consumer;

    expect(result).toMatchObject({
      status: 'finished',
      run: { run_id: request.run_id, trigger: 'manual' },
    });
  });

  it('finishes a re-link and clears the account for syncing', async () => {
    const account = await seed({ syncStatus: 'auth_required' });
    const client = appClient();

    const result = await client.relink(account.accountId, 'consent-from-app');

    expect(result.account.sync_status).toBe('active');
    expect(result.sync).toMatchObject({ status: 'queued', trigger: 'relink' });
    expect(await bed.takeQueued()).toEqual([
      { accountId: account.accountId, trigger: 'relink', runId: result.sync.run_id },
    ]);
  });

  it('changes settings and surfaces a value out of bounds as invalid_request', async () => {
    const account = await seed();
    const client = appClient();

    const updated = await client.updateSettings(account.accountId, { sync_interval_minutes: 360 });
    const refused = await client
      .updateSettings(account.accountId, { sync_interval_minutes: 5 })
      .catch((e: unknown) => e);

    expect(updated.settings.sync_interval_minutes).toBe(360);
    expect(refused).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('pages through the transactions with the cursor', async () => {
    const account = await seed();
    for (let day = 1; day <= 5; day += 1) {
      await bed.transactions.write(
        storedTransactionFactory({
          accountId: account.accountId,
          ref: `ft-${day}`,
          createdAt: `2026-03-0${day}T08:00:00.000Z`,
        }),
        { kind: 'new' },
      );
    }
    const client = appClient();

    const refs: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const result = await client.listTransactions(account.accountId, { limit: 2, cursor });
      refs.push(...result.items.map((item) => item.ref));
      if (result.next_cursor === null) break;
      cursor = result.next_cursor;
    }

    expect(refs).toEqual(['ft-5', 'ft-4', 'ft-3', 'ft-2', 'ft-1']);
  });

  it('answers 404 for another user’s account through the client', async () => {
    const theirs = await seed({ ownerId: 'someone-else' });

    const error = await appClient()
      .listSyncRuns(theirs.accountId)
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('the offline queue against the local API', () => {
  function connectivity() {
    const listeners = new Set<(isOnline: boolean) => void>();
    const source: Connectivity = {
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const set = (isOnline: boolean) => {
      online = isOnline;
      for (const listener of listeners) listener(isOnline);
    };
    return { source, set };
  }

  it('sends one sync per account when the device comes back online', async () => {
    const first = await seed();
    const second = await seed();
    const device = connectivity();
    const outbox = new SyncOutbox({ client: appClient(), storage: new MemoryStorage() });
    const reports: unknown[] = [];
    const stop = outbox.start(device.source, (report) => reports.push(report));
    device.set(false);

    const taps = [];
    for (const id of [first.accountId, first.accountId, second.accountId, first.accountId]) {
      taps.push(await outbox.requestSync(id));
    }
    device.set(true);
    const report = await outbox.flush();
    stop();

    expect(taps.map((tap) => tap.state)).toEqual(['queued', 'queued', 'queued', 'queued']);
    expect(report.remaining).toEqual([]);
    expect(await outbox.pending()).toEqual([]);
    const queued = await bed.takeQueued();
    expect(queued.map((message) => message.accountId).sort()).toEqual(
      [first.accountId, second.accountId].sort(),
    );
  });

  it('drops a queued sync for an account that needs a re-link, with the reason', async () => {
    const account = await seed({ syncStatus: 'auth_required' });
    const outbox = new SyncOutbox({ client: appClient(), storage: new MemoryStorage() });
    online = false;
    await outbox.requestSync(account.accountId);

    online = true;
    const report = await outbox.flush();

    expect(report.dropped.map((item) => item.error.code)).toEqual(['relink_required']);
    expect(await bed.takeQueued()).toEqual([]);
  });

  it('fails a direct request offline with a NetworkError', async () => {
    const account = await seed();
    online = false;

    const error = await appClient()
      .requestSync(account.accountId)
      .catch((e: unknown) => e);
    online = true;

    expect(error).toBeInstanceOf(NetworkError);
  });
});
