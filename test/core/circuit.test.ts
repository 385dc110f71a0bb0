import { describe, expect, it } from 'vitest';
import {
  type Admission,
  admission,
  afterPlatformFailure,
  type CircuitConfig,
  type CircuitState,
  closedAfterProbe,
  fanOutDelaySeconds,
  INITIAL_CIRCUIT,
  isClosed,
  ProviderCircuit,
  probeVerdict,
  releasedProbe,
  withProbe,
} from '../../core/circuit';
import type { SyncOutcome } from '../../core/model';
import { MemoryCircuitStore } from '../support/circuit';
import { ManualClock } from '../support/in-memory';

const NOW = '2026-03-10T02:00:00.000Z';
const MINUTE = 60_000;
const config: CircuitConfig = {
  openMs: 5 * MINUTE,
  maxOpenMs: 60 * MINUTE,
  probeLeaseMs: 2 * MINUTE,
  cacheMs: 5_000,
};

const at = (offsetMs: number) => new Date(Date.parse(NOW) + offsetMs);
const iso = (offsetMs: number) => at(offsetMs).toISOString();

const openState = (overrides: Partial<CircuitState> = {}): CircuitState => ({
  status: 'open',
  version: 1,
  trips: 1,
  openedAt: NOW,
  reopenAt: iso(5 * MINUTE),
  reason: 'platform_auth:UNAUTHORIZED',
  ...overrides,
});

const halfOpen = (overrides: Partial<CircuitState> = {}): CircuitState => ({
  ...openState(),
  status: 'half_open',
  version: 2,
  probeOwner: 'consumer-a',
  probeExpiresAt: iso(7 * MINUTE),
  ...overrides,
});

describe('circuit rules', () => {
  it.each<[string, CircuitState, number, Admission]>([
    ['a closed circuit lets everything pass', INITIAL_CIRCUIT, 0, { mode: 'pass' }],
    [
      'an open circuit holds work until the reopen time',
      openState(),
      MINUTE,
      { mode: 'hold', until: iso(5 * MINUTE) },
    ],
    ['an open circuit due for a probe offers one', openState(), 5 * MINUTE, { mode: 'probe' }],
    [
      'a half-open circuit holds work while its probe runs',
      halfOpen(),
      6 * MINUTE,
      { mode: 'hold', until: iso(7 * MINUTE) },
    ],
    [
      'a half-open circuit whose prober vanished offers a new probe',
      halfOpen(),
      7 * MINUTE,
      { mode: 'probe' },
    ],
  ])('%s', (_case, state, offset, expected) => {
    expect(admission(state, at(offset))).toEqual(expected);
  });

  it.each<[string, CircuitState, number, Partial<CircuitState> | undefined]>([
    [
      'the first failure opens it for the base wait',
      INITIAL_CIRCUIT,
      0,
      { status: 'open', trips: 1, openedAt: NOW, reopenAt: iso(5 * MINUTE), version: 1 },
    ],
    ['a failure while it is open and not due changes nothing', openState(), MINUTE, undefined],
    [
      'a failure once it is due doubles the wait and keeps the opening time',
      openState(),
      5 * MINUTE,
      { status: 'open', trips: 2, openedAt: NOW, reopenAt: iso(15 * MINUTE), version: 2 },
    ],
    [
      'a failed probe doubles the wait',
      halfOpen({ trips: 2 }),
      6 * MINUTE,
      { status: 'open', trips: 3, reopenAt: iso(26 * MINUTE), version: 3 },
    ],
    [
      'the wait is capped',
      halfOpen({ trips: 9 }),
      6 * MINUTE,
      { trips: 10, reopenAt: iso(66 * MINUTE) },
    ],
  ])('%s', (_case, state, offset, expected) => {
    const next = afterPlatformFailure(state, at(offset), 'platform_auth:UNAUTHORIZED', config);

    if (expected === undefined) expect(next).toBeUndefined();
    else expect(next).toMatchObject(expected);
  });

  it('a failure drops the probe claim', () => {
    const next = afterPlatformFailure(halfOpen(), at(6 * MINUTE), 'x', config);

    expect(next).not.toHaveProperty('probeOwner');
  });

  it('claiming the probe makes the circuit half open for the probe lease', () => {
    expect(withProbe(openState(), 'consumer-b', at(5 * MINUTE), config)).toMatchObject({
      status: 'half_open',
      version: 2,
      probeOwner: 'consumer-b',
      probeExpiresAt: iso(7 * MINUTE),
    });
  });

  it('a good probe closes the circuit and forgets the trips', () => {
    expect(closedAfterProbe(halfOpen({ trips: 4 }), at(6 * MINUTE))).toEqual({
      status: 'closed',
      version: 3,
      trips: 0,
      closedAt: iso(6 * MINUTE),
    });
  });

  it('a probe that proved nothing reopens at once without a trip', () => {
    const next = releasedProbe(halfOpen(), at(6 * MINUTE));

    expect(next).toMatchObject({ status: 'open', trips: 1, reopenAt: iso(6 * MINUTE) });
    expect(next).not.toHaveProperty('probeOwner');
  });

  it.each<[SyncOutcome, 'good' | 'inconclusive']>([
    ['synced', 'good'],
    ['partial', 'good'],
    ['auth_required', 'good'],
    ['permanent_error', 'good'],
    ['skipped', 'inconclusive'],
    ['transient_error', 'inconclusive'],
    ['rate_limited', 'inconclusive'],
    ['platform_auth_error', 'inconclusive'],
  ])('a probe that ends %s is %s', (outcome, verdict) => {
    expect(probeVerdict(outcome)).toBe(verdict);
  });

  it.each<[string, CircuitState, number, number | undefined]>([
    ['a closed circuit does not delay the fan-out', INITIAL_CIRCUIT, 0, undefined],
    ['an open circuit delays it until the reopen time', openState(), MINUTE, 240],
    [
      'a long wait is cut to the largest SQS delay',
      openState({ reopenAt: iso(60 * MINUTE) }),
      0,
      900,
    ],
    ['a circuit due for a probe lets it through', openState(), 5 * MINUTE, undefined],
    ['a running probe delays it until the claim runs out', halfOpen(), 6 * MINUTE, 60],
  ])('%s', (_case, state, offset, expected) => {
    expect(fanOutDelaySeconds(state, at(offset))).toBe(expected);
  });

  it.each<[CircuitState, boolean]>([
    [INITIAL_CIRCUIT, true],
    [openState(), false],
    [halfOpen(), false],
  ])('isClosed(%o) is %s', (state, expected) => {
    expect(isClosed(state)).toBe(expected);
  });
});

function fleet(size: number) {
  const store = new MemoryCircuitStore();
  const clock = new ManualClock(new Date(NOW));
  const containers = Array.from({ length: size }, () => new ProviderCircuit(store, clock, config));
  return { store, clock, containers };
}

describe('ProviderCircuit', () => {
  it('opens once when many consumers fail together', async () => {
    const { store, containers } = fleet(5);

    await Promise.all(containers.map((c) => c.recordPlatformFailure('platform_auth:X')));

    expect(store.writes).toHaveLength(1);
    expect(store.state).toMatchObject({ status: 'open', trips: 1 });
  });

  it('lets exactly one of many consumers probe', async () => {
    const { clock, containers } = fleet(5);
    await containers[0]!.recordPlatformFailure('platform_auth:X');
    clock.advance(5 * MINUTE);

    const admissions = await Promise.all(containers.map((c, i) => c.admit(`consumer-${i}`)));

    expect(admissions.filter((a) => a.mode === 'probe')).toHaveLength(1);
    expect(admissions.filter((a) => a.mode === 'hold')).toHaveLength(4);
  });

  it('reads the store at most once per cache period', async () => {
    const { store, clock, containers } = fleet(1);
    const circuit = containers[0]!;

    await circuit.admit('c');
    await circuit.admit('c');
    clock.advance(config.cacheMs);
    await circuit.admit('c');

    expect(store.reads).toBe(2);
  });

  it('ignores a probe result from a consumer that no longer holds the claim', async () => {
    const { store, clock, containers } = fleet(1);
    const circuit = containers[0]!;
    await circuit.recordPlatformFailure('x');
    clock.advance(5 * MINUTE);
    await circuit.admit('consumer-a');
    store.state = { ...store.state, probeOwner: 'consumer-b', version: store.state.version + 1 };

    await circuit.recordProbe('consumer-a', 'good');

    expect(store.state.status).toBe('half_open');
  });
});

describe('BatchGate', () => {
  it('lets a batch through while the circuit is closed', async () => {
    const { containers } = fleet(1);

    const gate = await containers[0]!.forBatch('c');

    expect(gate.next()).toEqual({ proceed: true });
    expect(gate.isOpen()).toBe(false);
  });

  it('holds the rest of a batch until the reopen time after a platform failure', async () => {
    const { containers } = fleet(1);
    const gate = await containers[0]!.forBatch('c');

    await gate.platformFailure('platform_auth:UNAUTHORIZED');

    expect(gate.next()).toEqual({ proceed: false, retryAt: at(5 * MINUTE) });
    expect(gate.isOpen()).toBe(true);
  });

  it('holds the rest of a batch after a platform failure even when the circuit cannot be written', async () => {
    // Arrange
    const { store, containers } = fleet(1);
    const gate = await containers[0]!.forBatch('c');
    store.replace = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };

    // Act
    const failure = gate.platformFailure('platform_auth:UNAUTHORIZED');

    // Assert
    await expect(failure).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(gate.next()).toEqual({ proceed: false, retryAt: at(config.cacheMs) });
  });

  it('closes the circuit when the probe syncs and lets the rest of the batch through', async () => {
    const { store, clock, containers } = fleet(1);
    const circuit = containers[0]!;
    await circuit.recordPlatformFailure('x');
    clock.advance(5 * MINUTE);
    const gate = await circuit.forBatch('c');
    expect(gate.probing).toBe(true);

    await gate.completed('synced');

    expect(store.state.status).toBe('closed');
    expect(gate.probing).toBe(false);
    expect(gate.next()).toEqual({ proceed: true });
  });

  it('keeps probing with the next record after an inconclusive one', async () => {
    const { store, clock, containers } = fleet(1);
    const circuit = containers[0]!;
    await circuit.recordPlatformFailure('x');
    clock.advance(5 * MINUTE);
    const gate = await circuit.forBatch('c');

    await gate.completed('skipped');

    expect(gate.probing).toBe(true);
    expect(store.state.status).toBe('half_open');
  });

  it('gives back a probe that proved nothing when the batch ends', async () => {
    const { store, clock, containers } = fleet(1);
    const circuit = containers[0]!;
    await circuit.recordPlatformFailure('x');
    clock.advance(5 * MINUTE);
    const gate = await circuit.forBatch('c');
    await gate.completed('transient_error');

    await gate.finish();

    expect(store.state).toMatchObject({ status: 'open', reopenAt: iso(5 * MINUTE) });
  });

  it('reopens for longer when the probe fails again', async () => {
    const { store, clock, containers } = fleet(1);
    const circuit = containers[0]!;
    await circuit.recordPlatformFailure('x');
    clock.advance(5 * MINUTE);
    const gate = await circuit.forBatch('c');

    await gate.platformFailure('platform_auth:UNAUTHORIZED');

    expect(store.state).toMatchObject({ status: 'open', trips: 2, reopenAt: iso(15 * MINUTE) });
    expect(gate.next()).toEqual({ proceed: false, retryAt: at(15 * MINUTE) });
  });
});
