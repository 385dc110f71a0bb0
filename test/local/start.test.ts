import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNpmScript, startServing } from '../support/npm';
import { canListen, freeBasePort } from './ports';

const npmStart = (args: string[]) => runNpmScript('start', args);

function occupy(port: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const STACK_TRACE = /^\s+at /m;

describe('npm start', () => {
  it('syncs the demo wallets once, prints the summary and exits 0 with --once', async () => {
    // Act
    const run = await npmStart(['--once', '--accounts', '4', '--port', '0']);

    // Assert
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const row of [
      'accounts synced         3 of 4 due',
      'transactions added',
      'transactions updated',
      'transactions unchanged',
      're-link needed          1',
      'in backoff              0',
      'DLQ depth               0',
    ]) {
      expect(run.stdout).toContain(row);
    }
    expect(run.stdout).toMatch(/^Invariants$/m);
    expect(run.stdout).not.toContain('FAIL');
    // The demo users to mint tokens for, with their accounts; the push the broken link gave.
    expect(run.stdout).toMatch(/^ {2}demo-ama +demo-0001, demo-0004 \(link revoked\)$/m);
    expect(run.stdout).toMatch(/^ {2}demo-kofi +demo-0002$/m);
    expect(run.stdout).toContain('Pushes recorded by the OneSignal stub (1)');
    expect(run.stdout).toMatch(
      /^ {2}to demo-ama {2}account demo-0004 {2}link_revoked {2}opens \S+:\/\/accounts\/demo-0004\/relink$/m,
    );
    expect(run.stdout).toMatch(/^ {4}fr {2}Reconnectez votre portefeuille MoMo$/m);
  }, 120_000);

  it('finds the accounts and transactions of an earlier run again with --data', async () => {
    // Arrange
    const dir = await mkdtemp(join(tmpdir(), 'momo-sync-data-'));
    const args = ['--once', '--accounts', '3', '--port', '0', '--data', dir];

    try {
      // Act
      const first = await npmStart(args);
      const second = await npmStart(args);

      // Assert: the second run finds the synced accounts (none due) and every transaction.
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('accounts synced         3 of 3 due (3 in all)');
      const stored = /stored exactly once, with its status: (\d+) expected, 0 missing/.exec(
        first.stdout,
      )?.[1];
      expect(Number(stored)).toBeGreaterThan(0);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('accounts synced         0 of 0 due (3 in all)');
      expect(second.stdout).toContain(`${stored} expected, 0 missing, 0 duplicated`);
      expect(second.stdout).toContain('an earlier run in this --data directory synced them');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('serves after the summary until Ctrl-C, then frees its ports and exits 0', async () => {
    // Arrange
    const base = await freeBasePort(6);
    const { child, stdout } = await startServing(
      ['local/start.ts', '--accounts', '2', '--port', String(base)],
      'Serving (Ctrl-C to stop)',
    );
    const health = await fetch(`http://127.0.0.1:${base}/accounts`);

    // Act
    child.kill('SIGINT');
    const [exitCode] = await once(child, 'exit');

    // Assert
    expect(health.status).toBe(401);
    expect(exitCode).toBe(0);
    expect(stdout()).toContain('stopping...');
    // The token command works as printed: this stack is not on the default port.
    expect(stdout()).toContain(`(token: npm run local:token -- --user demo-ama --port ${base})`);
    expect(stdout()).toContain(`Demo users (npm run local:token -- --user ID --port ${base})`);
    const ports = Array.from({ length: 6 }, (_, offset) => base + offset);
    expect(await Promise.all(ports.map(canListen))).toEqual(ports.map(() => true));
  }, 120_000);

  it('exits 2 with one line and no stack trace for a bad option', async () => {
    // Act
    const run = await npmStart(['--once', '--accounts', '0']);

    // Assert
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      'npm start: --accounts 0 is not a whole number from 1 to 100000 (see npm start -- --help)',
    );
    expect(run.stderr).not.toMatch(STACK_TRACE);
  }, 60_000);

  it('exits 2 naming the port and the server when a port is taken', async () => {
    // Arrange
    const base = await freeBasePort(6);
    const blocker = await occupy(base + 2);

    // Act
    const run = await npmStart(['--once', '--accounts', '1', '--port', String(base)]);
    await new Promise((resolve) => blocker.close(resolve));

    // Assert
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      `npm start: port ${base + 2} (local-aws-sqs) is already in use; free it or pass --port with another base port`,
    );
  }, 60_000);
});
