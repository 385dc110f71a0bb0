import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CIRCUIT_KEY, DynamoCircuitStore } from '../../../adapters/dynamodb/circuit';
import {
  type CircuitState,
  DEFAULT_CIRCUIT_CONFIG,
  INITIAL_CIRCUIT,
  ProviderCircuit,
} from '../../../core/circuit';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';
import { ManualClock } from '../../support/in-memory';

let dynamo: TestDynamo;
let key = 0;

beforeAll(async () => {
  dynamo = await startTestDynamo('circuit');
});

afterAll(async () => {
  await dynamo.close();
});

/** A store on its own item, so each test starts from a circuit nobody wrote. */
let store: DynamoCircuitStore;
beforeEach(() => {
  key += 1;
  store = new DynamoCircuitStore(dynamo.doc, dynamo.tables.control, `${CIRCUIT_KEY}-${key}`);
});

const open: CircuitState = {
  status: 'open',
  version: 1,
  trips: 1,
  openedAt: '2026-03-10T02:00:00.000Z',
  reopenAt: '2026-03-10T02:05:00.000Z',
  reason: 'platform_auth:UNAUTHORIZED',
};

describe('DynamoCircuitStore', () => {
  it('reads a circuit nobody wrote as closed', async () => {
    expect(await store.read()).toEqual(INITIAL_CIRCUIT);
  });

  it('creates the item from version 0 and reads it back', async () => {
    const written = await store.replace(open, 0);

    expect(written).toBe(true);
    expect(await store.read()).toEqual(open);
  });

  it('stores it under the circuit key of the control table', async () => {
    const real = new DynamoCircuitStore(dynamo.doc, dynamo.tables.control);
    await real.replace(open, 0);

    const { Item } = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tables.control, Key: { pk: 'circuit#provider' } }),
    );

    expect(Item).toMatchObject({ pk: 'circuit#provider', status: 'open' });
  });

  it('refuses a second creation', async () => {
    await store.replace(open, 0);

    expect(await store.replace({ ...open, reason: 'other' }, 0)).toBe(false);
    expect((await store.read()).reason).toBe(open.reason);
  });

  it('replaces only from the version the writer read', async () => {
    await store.replace(open, 0);
    const halfOpen: CircuitState = { ...open, status: 'half_open', version: 2, probeOwner: 'a' };

    const stale = await store.replace({ ...halfOpen, probeOwner: 'b' }, 0);
    const current = await store.replace(halfOpen, 1);

    expect([stale, current]).toEqual([false, true]);
    expect(await store.read()).toEqual(halfOpen);
  });

  it('lets exactly one of several consumers claim the probe', async () => {
    const clock = new ManualClock(new Date('2026-03-10T02:00:00.000Z'));
    const consumers = Array.from(
      { length: 4 },
      () => new ProviderCircuit(store, clock, DEFAULT_CIRCUIT_CONFIG),
    );
    await consumers[0]!.recordPlatformFailure('platform_auth:UNAUTHORIZED');
    clock.advance(DEFAULT_CIRCUIT_CONFIG.openMs);

    const admissions = await Promise.all(consumers.map((c, i) => c.admit(`consumer-${i}`)));

    expect(admissions.filter((a) => a.mode === 'probe')).toHaveLength(1);
    expect(await store.read()).toMatchObject({ status: 'half_open' });
  });
});
