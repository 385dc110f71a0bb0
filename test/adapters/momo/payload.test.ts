import { describe, expect, it } from 'vitest';
import { parseStatement, parseToken } from '../../../adapters/momo/payload';

const WALLET = 'wallet-1';

function wireTransaction(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    financialTransactionId: '123456789',
    externalId: 'order-1',
    amount: '1500.50',
    currency: 'GHS',
    direction: 'CREDIT',
    status: 'SUCCESSFUL',
    counterparty: { partyIdType: 'MSISDN', partyId: '233241234567' },
    description: 'Transfer received',
    createdAt: '2024-05-01T13:00:00.000+01:00',
    updatedAt: '2024-05-01T13:00:02.5+01:00',
    ...overrides,
  };
}

function wireStatement(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    walletId: WALLET,
    balance: { availableBalance: '1234.50', currency: 'GHS' },
    transactions: [wireTransaction()],
    ...overrides,
  };
}

function failureOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('parseStatement', () => {
  it('normalises a valid page', () => {
    const page = parseStatement(wireStatement({ nextPageToken: 'abc' }), WALLET);

    expect(page).toEqual({
      transactions: [
        {
          ref: '123456789',
          externalId: 'order-1',
          amountMinor: 150050,
          currency: 'GHS',
          direction: 'CREDIT',
          status: 'SUCCESSFUL',
          counterparty: '****4567',
          description: 'Transfer received',
          createdAt: '2024-05-01T12:00:00.000Z',
          updatedAt: '2024-05-01T12:00:02.500Z',
        },
      ],
      balance: { amountMinor: 123450, currency: 'GHS' },
      nextPageToken: 'abc',
    });
  });

  it.each([
    ['null optional fields', { externalId: null, description: null }],
    ['absent optional fields', { externalId: undefined, description: undefined }],
  ])('accepts %s and leaves them out', (_label, overrides) => {
    const [transaction] = parseStatement(
      wireStatement({ transactions: [wireTransaction(overrides)] }),
      WALLET,
    ).transactions;

    expect(transaction).not.toHaveProperty('externalId');
    expect(transaction).not.toHaveProperty('description');
  });

  it('ignores fields it does not know', () => {
    const page = parseStatement(
      wireStatement({ transactions: [wireTransaction({ channel: 'USSD' })], region: 'west' }),
      WALLET,
    );

    expect(page.transactions[0]).not.toHaveProperty('channel');
  });

  it.each([
    [
      'an amount with too many decimals',
      { transactions: [wireTransaction({ amount: '1.005' })] },
      'transactions.0.amount',
    ],
    [
      'a signed amount',
      { transactions: [wireTransaction({ amount: '-15.00' })] },
      'transactions.0.amount',
    ],
    [
      'a numeric amount',
      { transactions: [wireTransaction({ amount: 15 })] },
      'transactions.0.amount',
    ],
    [
      'a time without an offset',
      { transactions: [wireTransaction({ updatedAt: '2024-05-01T12:00:00' })] },
      'transactions.0.updatedAt',
    ],
    [
      'an unknown status',
      { transactions: [wireTransaction({ status: 'REVERSED' })] },
      'transactions.0.status',
    ],
    [
      'an unknown direction',
      { transactions: [wireTransaction({ direction: 'IN' })] },
      'transactions.0.direction',
    ],
    [
      'a missing reference',
      { transactions: [wireTransaction({ financialTransactionId: '' })] },
      'transactions.0.financialTransactionId',
    ],
    [
      'a missing counterparty',
      { transactions: [wireTransaction({ counterparty: undefined })] },
      'transactions.0.counterparty',
    ],
    [
      'a malformed currency',
      { transactions: [wireTransaction({ currency: 'cedi' })] },
      'transactions.0.currency',
    ],
    [
      'a malformed balance',
      { balance: { availableBalance: '12,34', currency: 'GHS' } },
      'balance.availableBalance',
    ],
    ['no transaction list', { transactions: undefined }, 'transactions'],
    ['another wallet', { walletId: 'wallet-2' }, 'walletId'],
  ])('fails permanently on %s, naming only where', (_label, overrides, where) => {
    const failure = failureOf(() => parseStatement(wireStatement(overrides), WALLET));

    expect(failure).toMatchObject({ failureClass: 'permanent', code: 'INVALID_PAYLOAD' });
    expect((failure as Error).message).toBe(`permanent: INVALID_PAYLOAD at ${where}`);
  });

  it.each([null, 'not json', [], 42])('fails permanently on a body of %j', (body) => {
    expect(failureOf(() => parseStatement(body, WALLET))).toMatchObject({
      failureClass: 'permanent',
      code: 'INVALID_PAYLOAD',
    });
  });
});

describe('parseToken', () => {
  it('reads the token and its lifetime', () => {
    expect(
      parseToken({ access_token: 'abc', token_type: 'access_token', expires_in: 3600 }),
    ).toEqual({ accessToken: 'abc', expiresInSeconds: 3600 });
  });

  it.each([
    ['no token', { expires_in: 3600 }],
    ['an empty token', { access_token: '', expires_in: 3600 }],
    ['no lifetime', { access_token: 'abc' }],
    ['a lifetime as text', { access_token: 'abc', expires_in: '3600' }],
    ['a zero lifetime', { access_token: 'abc', expires_in: 0 }],
  ])('fails permanently on %s', (_label, body) => {
    expect(failureOf(() => parseToken(body))).toMatchObject({
      failureClass: 'permanent',
      code: 'INVALID_PAYLOAD',
    });
  });
});
