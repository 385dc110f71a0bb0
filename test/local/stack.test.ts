import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, seedDemo } from '../../local/demo';
import { LOCAL_PROFILE } from '../../local/env';
import { checkInvariants, summarize } from '../../local/report';
import { type LocalStack, PORT_OFFSETS, startLocalStack } from '../../local/stack';
import { canListen, freeBasePort } from './ports';

const SPAN = Math.max(...Object.values(PORT_OFFSETS)) + 1;
let basePort: number;
let stack: LocalStack;

beforeAll(async () => {
  basePort = await freeBasePort(SPAN);
  stack = await startLocalStack({
    basePort,
    logLevel: 'SILENT',
    api: { demoUsers: [...DEMO_USERS], stateFile: null },
  });
});

afterAll(async () => {
  await stack.close();
});

describe('startLocalStack', () => {
  it('runs a scheduled sync of the demo world through the real handlers', async () => {
    // Arrange
    const demo = await seedDemo(stack.simulator, stack.doc, stack.tables.accounts, 4);
    for (const user of DEMO_USERS) stack.oneSignal.addDevice(user);
    const since = new Date().toISOString();
    const healthy = demo.filter((account) => account.link === 'active');
    const expectedAdded = healthy.reduce(
      (sum, account) => sum + stack.simulator.truth(account.walletId).transactions.length,
      0,
    );

    // Act
    const tick = await stack.tick();
    await stack.drain({ timeoutMs: 60_000 });

    // Assert
    const sources = { ...stack, sqsRequests: () => stack.sqsWorkRequests() };
    const scope = {
      runId: `schedule-${tick.scheduledTime}`,
      since,
      dueAccountIds: demo.map((account) => account.accountId),
      pushableOwners: [...DEMO_USERS],
    };
    const summary = await summarize(sources, scope);
    expect(summary).toMatchObject({
      accounts: 4,
      synced: healthy.length,
      added: expectedAdded,
      relinkNeeded: demo.length - healthy.length,
      dlqTotal: 0,
      queued: 0,
      pushes: demo.length - healthy.length,
    });
    const invariants = await checkInvariants(sources, scope);
    expect(invariants.filter((invariant) => !invariant.ok)).toEqual([]);
  });

  it('loads one sync-account instance per slot of the sync and of the manual poller', () => {
    // Assert
    const slots = LOCAL_PROFILE.consumer.maximumConcurrency;
    expect(new Set(stack.handlers.syncAccount).size).toBe(2 * slots);
  });

  it('serves the app API on the base port', async () => {
    // Act
    const response = await fetch(`http://127.0.0.1:${basePort}/accounts`);

    // Assert
    expect(stack.api?.url).toBe(`http://127.0.0.1:${basePort}`);
    expect(response.status).toBe(401);
  });

  it('refuses a second stack in the same process', async () => {
    // Act
    const second = startLocalStack({ basePort: 0 });

    // Assert
    await expect(second).rejects.toThrow('one local stack per process');
  });

  it('frees every port on close, so the same ports can be listened on again', async () => {
    // Act
    await stack.close();

    // Assert
    const ports = Object.values(PORT_OFFSETS).map((offset) => basePort + offset);
    expect(await Promise.all(ports.map(canListen))).toEqual(ports.map(() => true));
  });
});
