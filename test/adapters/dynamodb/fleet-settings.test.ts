import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoFleetSettingsStore } from '../../../adapters/dynamodb/fleet-settings';
import { startTestDynamo, type TestDynamo } from '../../support/dynamo';

let dynamo: TestDynamo;
let store: DynamoFleetSettingsStore;
let key = 0;

beforeAll(async () => {
  dynamo = await startTestDynamo('fleet-settings');
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(() => {
  // A fresh item per test: the control table is shared by the file.
  key += 1;
  store = new DynamoFleetSettingsStore(dynamo.doc, dynamo.tables.control, `settings#test-${key}`);
});

describe('DynamoFleetSettingsStore', () => {
  it('reads no settings before any were written', async () => {
    expect(await store.get()).toEqual({});
  });

  it('stores the fleet interval with who set it and when', async () => {
    await store.setSyncInterval(720, 'ops-cli', new Date('2026-03-01T08:00:00.000Z'));

    expect(await store.get()).toEqual({
      syncIntervalMinutes: 720,
      updatedAt: '2026-03-01T08:00:00.000Z',
      updatedBy: 'ops-cli',
    });
  });

  it('clears the interval and keeps the record of the change', async () => {
    await store.setSyncInterval(720, 'ops-cli', new Date('2026-03-01T08:00:00.000Z'));

    await store.clearSyncInterval('ops-cli', new Date('2026-03-02T08:00:00.000Z'));

    expect(await store.get()).toEqual({
      updatedAt: '2026-03-02T08:00:00.000Z',
      updatedBy: 'ops-cli',
    });
  });
});
