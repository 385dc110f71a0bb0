import { afterEach, describe, expect, it } from 'vitest';
import {
  CAPACITY_METER_ENV,
  CapacityCounter,
  createDocumentClient,
} from '../../../adapters/dynamodb/client';

describe('CapacityCounter', () => {
  it.each([
    {
      case: 'bare CapacityUnits of a write (dynalite, DynamoDB TOTAL)',
      kind: 'write' as const,
      consumed: { TableName: 'tx', CapacityUnits: 2 },
      expected: { readUnits: 0, writeUnits: 2 },
    },
    {
      case: 'bare CapacityUnits of a read',
      kind: 'read' as const,
      consumed: { TableName: 'tx', CapacityUnits: 0.5 },
      expected: { readUnits: 0.5, writeUnits: 0 },
    },
    {
      case: 'the read and write split when the engine reports one',
      kind: 'write' as const,
      consumed: { TableName: 'tx', CapacityUnits: 3, ReadCapacityUnits: 1, WriteCapacityUnits: 2 },
      expected: { readUnits: 1, writeUnits: 2 },
    },
  ])('attributes $case', ({ kind, consumed, expected }) => {
    const counter = new CapacityCounter();

    counter.record(kind, consumed);

    expect(counter.readUnits('tx')).toBe(expected.readUnits);
    expect(counter.writeUnits('tx')).toBe(expected.writeUnits);
  });

  it('sums per table and across tables, one entry per table of a batch', () => {
    const counter = new CapacityCounter();

    counter.record('write', { TableName: 'accounts', CapacityUnits: 1 });
    counter.record('write', [
      { TableName: 'accounts', CapacityUnits: 2 },
      { TableName: 'runs', CapacityUnits: 1 },
    ]);
    counter.record('write', undefined);

    expect(counter.writeUnits('accounts')).toBe(3);
    expect(counter.writeUnits('runs')).toBe(1);
    expect(counter.writeUnits()).toBe(4);
    expect(counter.writeUnits('unknown-table')).toBe(0);
  });

  it('counts requests per operation and in total', () => {
    const counter = new CapacityCounter();

    for (const operation of ['PutItem', 'PutItem', 'Query']) counter.countRequest(operation);

    expect(counter.requests('PutItem')).toBe(2);
    expect(counter.requests('GetItem')).toBe(0);
    expect(counter.requests()).toBe(3);
  });

  it('forgets everything on reset', () => {
    const counter = new CapacityCounter();
    counter.record('read', { TableName: 'tx', CapacityUnits: 1 });
    counter.countRequest('GetItem');
    counter.countConditionalFailure('tx');

    counter.reset();

    expect(counter.snapshot()).toEqual({ tables: {}, requests: {} });
  });
});

describe('createDocumentClient', () => {
  const metered = (client: ReturnType<typeof createDocumentClient>) =>
    client.middlewareStack.identify().some((entry) => entry.startsWith('momoSyncCapacityCounter'));

  afterEach(() => {
    delete process.env[CAPACITY_METER_ENV];
  });

  it.each([
    { setting: undefined, expected: false },
    { setting: '0', expected: false },
    { setting: '1', expected: true },
  ])(
    'meters into the process counter when MOMO_SYNC_METER_CAPACITY is $setting',
    ({ setting, expected }) => {
      if (setting !== undefined) process.env[CAPACITY_METER_ENV] = setting;

      const client = createDocumentClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1' });

      expect(metered(client)).toBe(expected);
    },
  );

  it('meters into a counter it is given, whatever the environment says', () => {
    const client = createDocumentClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      capacity: new CapacityCounter(),
    });

    expect(metered(client)).toBe(true);
  });
});
