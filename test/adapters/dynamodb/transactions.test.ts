import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoTransactionStore } from '../../../adapters/dynamodb/transactions';
import type { StoredTransaction } from '../../../core/model';
import { startTestDynamo, storedTransactionFactory, type TestDynamo } from '../../support/dynamo';

let dynamo: TestDynamo;
let store: DynamoTransactionStore;
let accountSeq = 0;

beforeAll(async () => {
  dynamo = await startTestDynamo('transactions');
  store = new DynamoTransactionStore(dynamo.doc, dynamo.tables.transactions);
});

afterAll(async () => {
  await dynamo.close();
});

/** Each test writes under an account of its own, so listings see only their own items. */
let accountId: string;
beforeEach(() => {
  accountSeq += 1;
  accountId = `acc-${accountSeq}`;
});

function tx(overrides: Partial<StoredTransaction> = {}): StoredTransaction {
  return storedTransactionFactory({ accountId, ...overrides });
}

async function storeAll(transactions: StoredTransaction[]): Promise<void> {
  await Promise.all(transactions.map((t) => store.write(t, { kind: 'new' })));
}

async function readItem(t: StoredTransaction): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamo.doc.send(
    new GetCommand({
      TableName: dynamo.tables.transactions,
      Key: { accountId: t.accountId, sk: `${t.createdAt}#${t.ref}` },
      ConsistentRead: true,
    }),
  );
  return Item;
}

describe('DynamoTransactionStore.write', () => {
  it('stores a new transaction once and refuses the second new write', async () => {
    const first = tx();

    const results = [
      await store.write(first, { kind: 'new' }),
      await store.write({ ...first, description: 'duplicate' }, { kind: 'new' }),
    ];

    expect(results).toEqual([true, false]);
    expect((await readItem(first))?.description).toBe(first.description);
  });

  it('stores only the transaction fields and the sort key', async () => {
    const first = tx();
    const withExtra = { ...first, rawPayload: { msisdn: '233241234567' } } as StoredTransaction;

    await store.write(withExtra, { kind: 'new' });

    expect(await readItem(first)).toEqual({ ...first, sk: `${first.createdAt}#${first.ref}` });
  });

  it('rewrites a changed transaction whose fingerprint is still the one read', async () => {
    const pending = tx({ status: 'PENDING', fingerprint: 'fp-pending', counterparty: '***1' });
    await store.write(pending, { kind: 'new' });
    const successful = tx({
      ref: pending.ref,
      status: 'SUCCESSFUL',
      fingerprint: 'fp-successful',
      counterparty: undefined,
      firstSeenAt: '2026-03-02T00:00:00.000Z',
      lastChangedAt: '2026-03-02T00:00:00.000Z',
    });

    const written = await store.write(successful, {
      kind: 'changed',
      previousFingerprint: 'fp-pending',
    });

    expect(written).toBe(true);
    const item = await readItem(pending);
    expect(item).toMatchObject({
      status: 'SUCCESSFUL',
      fingerprint: 'fp-successful',
      lastChangedAt: '2026-03-02T00:00:00.000Z',
      // The first sighting is kept across rewrites.
      firstSeenAt: pending.firstSeenAt,
    });
    expect(item).not.toHaveProperty('counterparty');
  });

  it('clears removedAt when a removed transaction comes back changed', async () => {
    const removed = tx({ fingerprint: 'fp-1', removedAt: '2026-03-01T12:00:00.000Z' });
    await store.write(removed, { kind: 'new' });

    await store.write(
      { ...removed, removedAt: undefined, fingerprint: 'fp-2' },
      { kind: 'changed', previousFingerprint: 'fp-1' },
    );

    expect(await readItem(removed)).not.toHaveProperty('removedAt');
  });

  it.each([
    { case: 'the stored fingerprint moved on', stored: true, previous: 'fp-stale' },
    { case: 'the transaction is not stored', stored: false, previous: 'fp-1' },
  ])('refuses a changed write when $case', async ({ stored, previous }) => {
    const original = tx({ fingerprint: 'fp-1', status: 'PENDING' });
    if (stored) await store.write(original, { kind: 'new' });

    const written = await store.write(
      { ...original, status: 'FAILED', fingerprint: 'fp-2' },
      { kind: 'changed', previousFingerprint: previous },
    );

    expect(written).toBe(false);
    expect((await readItem(original))?.status).toBe(stored ? 'PENDING' : undefined);
  });
});

describe('DynamoTransactionStore.getStates', () => {
  it('returns the state of stored transactions by ref and leaves unknown ones out', async () => {
    const known = tx({ fingerprint: 'fp-known' });
    const removed = tx({ fingerprint: 'fp-removed', removedAt: '2026-03-01T11:00:00.000Z' });
    await storeAll([known, removed]);
    const unknown = tx();

    const states = await store.getStates(accountId, [known, removed, unknown, known]);

    expect(states).toEqual(
      new Map([
        [known.ref, { ref: known.ref, createdAt: known.createdAt, fingerprint: 'fp-known' }],
        [
          removed.ref,
          {
            ref: removed.ref,
            createdAt: removed.createdAt,
            fingerprint: 'fp-removed',
            removedAt: '2026-03-01T11:00:00.000Z',
          },
        ],
      ]),
    );
  });

  it('reads more keys than one BatchGetItem call takes', async () => {
    const many = Array.from({ length: 101 }, () => tx());
    await storeAll(many);

    const states = await store.getStates(accountId, many);

    expect([...states.keys()].sort()).toEqual(many.map((t) => t.ref).sort());
  });

  it('returns an empty map for no keys', async () => {
    expect(await store.getStates(accountId, [])).toEqual(new Map());
  });
});

describe('DynamoTransactionStore.listCreatedBetween', () => {
  it('lists the transactions created inside the inclusive bounds', async () => {
    const at = (createdAt: string) => tx({ createdAt, updatedAt: createdAt });
    const before = at('2026-03-01T09:59:59.999Z');
    const atFrom = at('2026-03-01T10:00:00.000Z');
    const inside = at('2026-03-01T11:30:00.000Z');
    const atTo = at('2026-03-01T12:00:00.000Z');
    const after = at('2026-03-01T12:00:00.001Z');
    await storeAll([before, atFrom, inside, atTo, after]);

    const states = await store.listCreatedBetween(
      accountId,
      '2026-03-01T10:00:00.000Z',
      '2026-03-01T12:00:00.000Z',
    );

    expect(states.map((state) => state.ref)).toEqual([atFrom.ref, inside.ref, atTo.ref]);
    expect(states[0]).toEqual({
      ref: atFrom.ref,
      createdAt: atFrom.createdAt,
      fingerprint: atFrom.fingerprint,
    });
  });
});

describe('DynamoTransactionStore.markRemoved', () => {
  it('marks a transaction removed without deleting it', async () => {
    const gone = tx({ fingerprint: 'fp-1' });
    await store.write(gone, { kind: 'new' });

    const marked = await store.markRemoved(accountId, gone, '2026-03-01T13:00:00.000Z', 'fp-1');

    expect(marked).toBe(true);
    expect(await readItem(gone)).toMatchObject({
      status: gone.status,
      removedAt: '2026-03-01T13:00:00.000Z',
    });
  });

  it.each([
    { case: 'its fingerprint changed since it was read', stored: true },
    { case: 'it is not stored', stored: false },
  ])('refuses when $case', async ({ stored }) => {
    const changed = tx({ fingerprint: 'fp-2' });
    if (stored) await store.write(changed, { kind: 'new' });

    const marked = await store.markRemoved(accountId, changed, '2026-03-01T13:00:00.000Z', 'fp-1');

    expect(marked).toBe(false);
    const item = await readItem(changed);
    expect(item?.removedAt).toBeUndefined();
    // The update must not create an item for a transaction that was never stored.
    expect(item === undefined).toBe(!stored);
  });
});

describe('DynamoTransactionStore.listByAccount', () => {
  const times = [
    '2026-03-01T08:00:00.000Z',
    '2026-03-01T09:00:00.000Z',
    '2026-03-01T10:00:00.000Z',
    '2026-03-01T11:00:00.000Z',
    '2026-03-01T12:00:00.000Z',
  ];
  let listed: StoredTransaction[];

  beforeEach(async () => {
    listed = times.map((createdAt) => tx({ createdAt, updatedAt: createdAt }));
    await storeAll(listed);
  });

  it('pages through all transactions newest first', async () => {
    const pages: string[][] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await store.listByAccount(accountId, { limit: 2, startKey });
      pages.push(page.items.map((item) => item.createdAt));
      startKey = page.lastKey;
    } while (startKey);

    expect(pages.flat()).toEqual([...times].reverse());
    expect(pages[0]).toEqual([times[4], times[3]]);
  });

  it.each([
    { case: 'both bounds', from: times[1], to: times[3], expected: [times[3], times[2], times[1]] },
    { case: 'a lower bound', from: times[3], to: undefined, expected: [times[4], times[3]] },
    { case: 'an upper bound', from: undefined, to: times[1], expected: [times[1], times[0]] },
  ])('filters by creation time with $case, inclusive', async ({ from, to, expected }) => {
    const page = await store.listByAccount(accountId, { from, to, limit: 10 });

    expect(page.items.map((item) => item.createdAt)).toEqual(expected);
    expect(page.lastKey).toBeUndefined();
  });

  it('returns stored transactions without the sort key', async () => {
    const page = await store.listByAccount(accountId, { limit: 1 });

    expect(page.items).toEqual([listed[4]]);
  });
});

describe('capacity of transaction writes', () => {
  it('charges one write unit for a new transaction and one for a changed one', async () => {
    const pending = tx({ status: 'PENDING', fingerprint: 'fp-pending' });
    dynamo.capacity.reset();

    await store.write(pending, { kind: 'new' });
    await store.write(
      { ...pending, status: 'SUCCESSFUL', fingerprint: 'fp-successful' },
      { kind: 'changed', previousFingerprint: 'fp-pending' },
    );

    expect(dynamo.capacity.writeUnits(dynamo.tables.transactions)).toBe(2);
    expect(dynamo.capacity.requests('PutItem')).toBe(1);
    expect(dynamo.capacity.requests('UpdateItem')).toBe(1);
  });

  it('counts a refused duplicate as a conditional failure, not as write units', async () => {
    const first = tx();
    await store.write(first, { kind: 'new' });
    dynamo.capacity.reset();

    await store.write(first, { kind: 'new' });

    expect(dynamo.capacity.snapshot()).toEqual({
      tables: {
        [dynamo.tables.transactions]: { readUnits: 0, writeUnits: 0, conditionalFailures: 1 },
      },
      requests: { PutItem: 1 },
    });
  });

  it('reads the states strongly consistently, a read unit per item under 4 KB', async () => {
    const known = Array.from({ length: 3 }, () => tx());
    await storeAll(known);
    dynamo.capacity.reset();

    await store.getStates(accountId, known);

    // dynalite charges as DynamoDB does: an eventually consistent read would cost half of this.
    expect(dynamo.capacity.readUnits(dynamo.tables.transactions)).toBe(3);
    expect(dynamo.capacity.requests('BatchGetItem')).toBe(1);
  });
});
