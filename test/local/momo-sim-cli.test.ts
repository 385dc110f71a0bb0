import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startMomoSimulator } from '../../local/momo-sim';
import { main, parseCliOptions } from '../../local/momo-sim/cli';
import { startServing } from '../support/npm';

function captureStderr(): { text: () => string } {
  const chunks: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    chunks.push(String(chunk));
    return true;
  });
  return { text: () => chunks.join('') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('parseCliOptions', () => {
  it('serves a working simulator with no options at all', () => {
    expect(parseCliOptions([])).toEqual({
      simulator: {
        port: 8089,
        host: '127.0.0.1',
        apiUser: 'momo-sim-user',
        apiKey: 'momo-sim-key',
        subscriptionKey: 'momo-sim-subscription',
        targetEnvironment: 'sandbox',
        seed: 'momo-sim',
        latencyMs: 0,
        rateLimitPerSecond: 0,
        pageSize: 100,
      },
      wallets: 5,
      transactions: [20, 60],
      currency: 'GHS',
    });
  });

  it('takes every option from the command line', () => {
    const options = parseCliOptions([
      '--port=9000',
      '--api-user',
      'U',
      '--api-key',
      'K',
      '--subscription-key',
      'S',
      '--seed',
      '7',
      '--wallets',
      '12',
      '--transactions',
      '3-9',
      '--currency',
      'XAF',
      '--latency-ms',
      '25',
      '--rate-limit',
      '50',
    ]);

    expect(options).toMatchObject({
      simulator: {
        port: 9000,
        apiUser: 'U',
        apiKey: 'K',
        subscriptionKey: 'S',
        seed: '7',
        latencyMs: 25,
        rateLimitPerSecond: 50,
      },
      wallets: 12,
      transactions: [3, 9],
      currency: 'XAF',
    });
  });

  it.each([
    [['--port', 'abc'], '--port must be a whole number from 0 to 65535, got "abc"'],
    [['--port', '70000'], '--port must be a whole number from 0 to 65535, got "70000"'],
    [['--wallets=-1'], '--wallets must be a whole number'],
    [['--latency-ms', '1.5'], '--latency-ms must be a whole number'],
    [['--transactions', '9-3'], '--transactions must look like 20-60 (min-max), got "9-3"'],
    [['--transactions', 'many'], '--transactions must look like 20-60'],
    [['--currency', 'cedi'], '--currency must be an ISO 4217 code'],
    [['--api-user', ''], '--api-user must not be empty'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['stray'], 'stray'],
  ])('fails on %j saying %j', (argv, message) => {
    expect(() => parseCliOptions(argv)).toThrow(message);
  });
});

describe('main', () => {
  it('prints the problem and the usage, not a stack trace, for a bad option', async () => {
    const stderr = captureStderr();

    const code = await main(['--rate-limit', 'fast']);

    expect(code).toBe(2);
    expect(stderr.text()).toMatch(/^momo-sim: --rate-limit must be a whole number/);
    expect(stderr.text()).toContain('Usage: npm run momo-sim');
    expect(stderr.text()).not.toMatch(/\n\s+at /);
  });

  it('says which port is taken, without a stack trace', async () => {
    const occupant = await startMomoSimulator({
      apiUser: 'u',
      apiKey: 'k',
      subscriptionKey: 's',
      seed: 1,
    });
    const port = new URL(occupant.url).port;
    const stderr = captureStderr();
    try {
      const code = await main(['--port', port]);

      expect(code).toBe(1);
      expect(stderr.text()).toBe(
        `momo-sim: port ${port} is already in use on 127.0.0.1; pick another with --port\n`,
      );
    } finally {
      await occupant.close();
    }
  });
});

describe('the momo-sim command', () => {
  it('prints its URL, credentials and wallets, serves them, and stops cleanly on Ctrl-C', async () => {
    const { child, stdout: printed } = await startServing(
      ['local/momo-sim/cli.ts', '--port', '0', '--wallets', '2', '--api-key', 'K1'],
      'Ctrl-C',
    );
    const stdout = printed();
    const baseUrl = /MOMO_BASE_URL=(\S+)/.exec(stdout)?.[1] as string;
    const wallets = stdout.match(/^ {2}[0-9a-f]{8}-[0-9a-f-]{27}$/gm) ?? [];

    const token = await fetch(`${baseUrl}/collection/token/`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('momo-sim-user:K1').toString('base64')}`,
        'ocp-apim-subscription-key': 'momo-sim-subscription',
      },
    });
    child.kill('SIGINT');
    const [exitCode] = await once(child, 'exit');

    expect(stdout).toContain('MOMO_API_KEY=K1');
    expect(stdout).toContain('MOMO_TARGET_ENVIRONMENT=sandbox');
    expect(wallets).toHaveLength(2);
    expect(token.status).toBe(200);
    expect(exitCode).toBe(0);
    expect(printed()).toContain('MoMo simulator stopped.');
  });
});
