/**
 * The CI run of the chaos soak: `npm run chaos` on bench/scenarios/smoke.json as a child process
 * (one local stack per process), its verdict read from the JSON line it ends with. Every fault
 * kind but platform credentials is on in that scenario, consumers are killed mid-page, links
 * break; whatever happened, the invariants of ARCHITECTURE.md must hold. The platform-outage
 * scenario runs too: our credentials refused for a round, the fleet held by the circuit.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SoakJson } from '../../bench/soak';
import { type NpmRun, runNpmScript } from '../support/npm';

const npmChaos = (args: string[]) => runNpmScript('chaos', args);

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';
const STACK_TRACE = /^\s+at /m;

/** Runs a shipped scenario once for the enclosing describe: its exit and its JSON verdict. */
function soakOf(scenario: string) {
  const soak = {} as { run: NpmRun; figures: SoakJson };
  beforeAll(async () => {
    soak.run = await npmChaos(['--scenario', `bench/scenarios/${scenario}`, '--json']);
    soak.figures = JSON.parse(lastLine(soak.run.stdout)) as SoakJson;
  }, 180_000);
  return soak;
}

describe('npm run chaos with the smoke scenario', () => {
  const soak = soakOf('smoke.json');

  it('exits 0 with every invariant holding', () => {
    expect(soak.run.stdout).not.toContain('FAIL');
    expect(soak.figures.ok).toBe(true);
    expect(soak.run.code).toBe(0);
  });

  it('met every fault it was asked for', () => {
    const injected = soak.figures.faults_injected;

    expect(injected.server_error).toBeGreaterThan(0);
    expect(injected.rate_limit).toBeGreaterThan(0);
    expect(injected.duplicate_across_pages).toBeGreaterThan(0);
    expect(soak.figures.consumer_kills).toBeGreaterThan(0);
    expect(soak.figures.broken_links).toBeGreaterThan(0);
  });

  it('stores every transaction of the provider exactly once, with its latest status', () => {
    expect(soak.figures.transactions_expected).toBeGreaterThan(0);
    expect(soak.figures).toMatchObject({
      transactions_stored: soak.figures.transactions_expected,
      lost: 0,
      duplicated: 0,
      stale_status: 0,
      unknown_transactions: 0,
      unsynced_accounts: 0,
    });
  });

  it('asks exactly the owners of broken links to re-link, once each', () => {
    expect(soak.figures).toMatchObject({
      auth_required_accounts: soak.figures.broken_links,
      wrong_auth_required: 0,
      notifications_sent: soak.figures.auth_required_accounts,
      duplicate_notifications: 0,
    });
  });

  it('leaves no lease, no message and no dead letter behind, and never opens the circuit', () => {
    expect(soak.figures).toMatchObject({
      leases_left: 0,
      messages_left: 0,
      dlq_messages_left: 0,
      circuit_opened: false,
    });
  });

  it('writes no credential, token, phone number or payload to a handler log line', () => {
    expect(soak.figures.log_lines).toBeGreaterThan(0);
    expect(soak.figures.leaky_log_lines).toBe(0);
  });
});

describe('npm run chaos with our provider credentials refused', () => {
  const soak = soakOf('platform-outage.json');

  it('opens the circuit, marks no account and pushes nobody', () => {
    expect(soak.run.code).toBe(0);
    expect(soak.figures).toMatchObject({
      ok: true,
      circuit_opened: true,
      auth_required_accounts: 0,
      notifications_sent: 0,
    });
  });

  it('holds the fleet without dead letters and syncs all of it once the credentials work', () => {
    expect(soak.figures.transactions_expected).toBeGreaterThan(0);
    expect(soak.figures).toMatchObject({
      transactions_stored: soak.figures.transactions_expected,
      lost: 0,
      duplicated: 0,
      unsynced_accounts: 0,
      dlq_messages_redriven: 0,
      messages_left: 0,
      leases_left: 0,
    });
  });
});

describe('npm run chaos with a bad command line', () => {
  it.each([
    {
      case: 'a scenario with an unknown key',
      file: { accounts: 3, rounds: 1, faults: { serverErrorRatio: 0.1 } },
      message: 'faults: unknown key serverErrorRatio',
    },
    {
      case: 'a rate above 1',
      file: { faults: { consumerCrashRate: 1.5 } },
      message: 'faults.consumerCrashRate: Too big: expected number to be <=1 (got 1.5)',
    },
  ])('exits 2 with one line naming the problem for $case', async ({ file, message }) => {
    // Arrange
    const path = join(await mkdtemp(join(tmpdir(), 'chaos-')), 'scenario.json');
    await writeFile(path, JSON.stringify(file));

    // Act
    const result = await npmChaos(['--scenario', path]);

    // Assert
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(STACK_TRACE);
  });

  it('exits 2 when no scenario is given', async () => {
    // Act
    const result = await npmChaos(['--json']);

    // Assert
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--scenario FILE is required');
  });
});
