import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from './errors';
import { type Connectivity, MemoryStorage, SyncOutbox } from './outbox';
import type { SyncRequest } from './types';

/** A sync sender with a switch for the connection and a log of what reached the API. */
function fakeApi() {
  const state = {
    online: true,
    sent: [] as string[],
    refuse: new Map<string, ApiError>(),
  };
  const client = {
    async requestSync(accountId: string): Promise<SyncRequest> {
      // Yield first, as a real request would, so that concurrent callers interleave.
      await Promise.resolve();
      if (!state.online) throw new NetworkError('offline');
      const refusal = state.refuse.get(accountId);
      if (refusal) throw refusal;
      state.sent.push(accountId);
      return {
        account_id: accountId,
        status: 'queued',
        run_id: `run-${state.sent.length}`,
        trigger: 'manual',
        requested_at: '2026-03-02T12:00:00.000Z',
      };
    },
  };
  return { state, client };
}

function fakeConnectivity() {
  const listeners = new Set<(online: boolean) => void>();
  const connectivity: Connectivity = {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const emit = (online: boolean) => {
    for (const listener of listeners) listener(online);
  };
  return { connectivity, emit };
}

const now = () => new Date('2026-03-02T12:00:00.000Z');

describe('SyncOutbox', () => {
  it('sends at once when online', async () => {
    const { state, client } = fakeApi();
    const outbox = new SyncOutbox({ client, storage: new MemoryStorage(), now });

    const attempt = await outbox.requestSync('acc-1');

    expect(attempt).toMatchObject({ state: 'sent', request: { run_id: 'run-1' } });
    expect(state.sent).toEqual(['acc-1']);
    expect(await outbox.pending()).toEqual([]);
  });

  it('keeps one entry per account however often the user taps offline', async () => {
    const { state, client } = fakeApi();
    state.online = false;
    const outbox = new SyncOutbox({ client, storage: new MemoryStorage(), now });

    const attempts = await Promise.all([
      outbox.requestSync('acc-1'),
      outbox.requestSync('acc-1'),
      outbox.requestSync('acc-2'),
      outbox.requestSync('acc-1'),
    ]);
    await outbox.requestSync('acc-1');

    expect(attempts.map((a) => a.state)).toEqual(['queued', 'queued', 'queued', 'queued']);
    expect((await outbox.pending()).map((item) => item.accountId)).toEqual(['acc-1', 'acc-2']);
  });

  it('sends each queued account once when the device is online again', async () => {
    const { state, client } = fakeApi();
    const { connectivity, emit } = fakeConnectivity();
    state.online = false;
    const storage = new MemoryStorage();
    const outbox = new SyncOutbox({ client, storage, now });
    await outbox.requestSync('acc-1');
    await outbox.requestSync('acc-2');
    const reports: unknown[] = [];
    const stop = outbox.start(connectivity, (report) => reports.push(report));
    await outbox.flush();

    state.online = true;
    emit(true);
    emit(true);
    await outbox.flush();
    stop();

    expect(state.sent).toEqual(['acc-1', 'acc-2']);
    expect(await outbox.pending()).toEqual([]);
  });

  it('survives a restart through its storage', async () => {
    const { state, client } = fakeApi();
    const storage = new MemoryStorage();
    state.online = false;
    await new SyncOutbox({ client, storage, now }).requestSync('acc-1');

    state.online = true;
    const report = await new SyncOutbox({ client, storage, now }).flush();

    expect(report.sent.map((item) => item.accountId)).toEqual(['acc-1']);
    expect(state.sent).toEqual(['acc-1']);
  });

  it('sends a queued account with the queue, not a second time, when tapped again online', async () => {
    const { state, client } = fakeApi();
    state.online = false;
    const outbox = new SyncOutbox({ client, storage: new MemoryStorage(), now });
    await outbox.requestSync('acc-1');

    state.online = true;
    const [tapped] = await Promise.all([outbox.requestSync('acc-1'), outbox.flush()]);

    expect(tapped.state).toBe('sent');
    expect(state.sent).toEqual(['acc-1']);
  });

  it('drops entries the API refuses for good and keeps the rest when the connection drops', async () => {
    const { state, client } = fakeApi();
    state.online = false;
    const outbox = new SyncOutbox({ client, storage: new MemoryStorage(), now });
    for (const id of ['acc-relink', 'acc-ok', 'acc-later']) await outbox.requestSync(id);
    state.refuse.set('acc-relink', new ApiError(409, 'relink_required', 're-link'));
    state.online = true;
    const realSend = client.requestSync;
    client.requestSync = async (id: string) => {
      const result = await realSend(id);
      state.online = false;
      return result;
    };

    const report = await outbox.flush();

    expect(report.dropped.map((item) => [item.accountId, item.error.code])).toEqual([
      ['acc-relink', 'relink_required'],
    ]);
    expect(report.sent.map((item) => item.accountId)).toEqual(['acc-ok']);
    expect((await outbox.pending()).map((item) => item.accountId)).toEqual(['acc-later']);
  });

  it.each([
    ['fails on its side', new ApiError(500, 'internal_error', 'boom')],
    ['is throttled by the gateway', new ApiError(429, 'gateway', 'Too Many Requests')],
    ['saw the account change under the request', new ApiError(409, 'conflict', 'try again')],
  ])('keeps an entry while the API %s', async (_why, refusal) => {
    const { state, client } = fakeApi();
    state.online = false;
    const outbox = new SyncOutbox({ client, storage: new MemoryStorage(), now });
    await outbox.requestSync('acc-1');
    state.online = true;
    state.refuse.set('acc-1', refusal);

    const report = await outbox.flush();

    expect(report.remaining.map((item) => item.accountId)).toEqual(['acc-1']);
    expect(await outbox.pending()).toHaveLength(1);
  });

  it('passes a refusal through to the caller when online', async () => {
    const { state, client } = fakeApi();
    state.refuse.set('acc-1', new ApiError(429, 'sync_rate_limited', 'wait', 120));
    const outbox = new SyncOutbox({ client, storage: new MemoryStorage(), now });

    const error = await outbox.requestSync('acc-1').catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'sync_rate_limited', retryAfterSeconds: 120 });
    expect(await outbox.pending()).toEqual([]);
  });

  it('treats unreadable storage as an empty queue', async () => {
    const { client } = fakeApi();
    const storage = new MemoryStorage();
    await storage.setItem('momo-sync/outbox', '{not json');

    expect(await new SyncOutbox({ client, storage, now }).pending()).toEqual([]);
  });
});
