import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAccountStore } from '../../../adapters/dynamodb/accounts';
import { DynamoRelinkAccounts } from '../../../adapters/dynamodb/relink-accounts';
import type { Account, ReauthEpisode } from '../../../core/model';
import { accountFactory, startTestDynamo, type TestDynamo } from '../../support/dynamo';

const AT = '2026-03-10T02:01:00.000Z';

let dynamo: TestDynamo;
let store: DynamoAccountStore;
let accounts: DynamoRelinkAccounts;

beforeAll(async () => {
  dynamo = await startTestDynamo('relink');
  store = new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts);
  accounts = new DynamoRelinkAccounts(store);
});

afterAll(async () => {
  await dynamo.close();
});

async function stored(reauth?: Partial<ReauthEpisode>): Promise<Account> {
  const account = accountFactory({
    syncStatus: 'auth_required',
    ...(reauth ? { reauth: { episode: 2, openedAt: '2026-03-10T02:00:00.000Z', ...reauth } } : {}),
  });
  await store.create(account);
  return account;
}

describe('DynamoRelinkAccounts.markNotified', () => {
  it('records the result on the open episode', async () => {
    const account = await stored({});

    const marked = await accounts.markNotified(account.accountId, 2, 'sent', AT);

    expect(marked).toBe(true);
    expect((await accounts.get(account.accountId))?.reauth).toEqual({
      episode: 2,
      openedAt: '2026-03-10T02:00:00.000Z',
      notifiedAt: AT,
      notifyResult: 'sent',
    });
  });

  it('records an episode only once', async () => {
    const account = await stored({});

    const results = await Promise.all([
      accounts.markNotified(account.accountId, 2, 'sent', AT),
      accounts.markNotified(account.accountId, 2, 'no_recipients', AT),
    ]);

    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it.each([
    ['another episode', { episode: 3 }],
    ['an episode already recorded', { notifiedAt: '2026-03-10T02:00:30.000Z' }],
  ])('leaves %s alone', async (_case, reauth) => {
    const account = await stored(reauth);

    const marked = await accounts.markNotified(account.accountId, 2, 'sent', AT);

    expect(marked).toBe(false);
    expect((await accounts.get(account.accountId))?.reauth?.notifyResult).toBeUndefined();
  });

  it('keeps the closing time of an episode closed before the mark', async () => {
    const account = await stored({ closedAt: '2026-03-10T02:00:40.000Z' });

    await accounts.markNotified(account.accountId, 2, 'sent', AT);

    expect((await accounts.get(account.accountId))?.reauth).toMatchObject({
      closedAt: '2026-03-10T02:00:40.000Z',
      notifiedAt: AT,
    });
  });

  it('answers false for an account that does not exist', async () => {
    expect(await accounts.markNotified('acc-missing', 1, 'sent', AT)).toBe(false);
  });
});
