/**
 * `npm run momo-sim -- --port N --api-user U --api-key K --subscription-key S`: serves a seeded
 * MoMo simulator on loopback until Ctrl-C and prints what a client needs to reach it.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type MomoSimulator, type MomoSimulatorOptions, startMomoSimulator } from './server';

export const USAGE = `Usage: npm run momo-sim -- [options]

  --port N               port to listen on (0 picks a free one)      default 8089
  --host H               interface to listen on                      default 127.0.0.1
  --api-user U           API user the token endpoint accepts         default momo-sim-user
  --api-key K            API key the token endpoint accepts          default momo-sim-key
  --subscription-key S   Ocp-Apim-Subscription-Key it accepts        default momo-sim-subscription
  --target-environment E X-Target-Environment it accepts             default sandbox
  --seed S               seed of the wallets and faults              default momo-sim
  --wallets N            wallets to seed                             default 5
  --transactions MIN-MAX transactions per seeded wallet              default 20-60
  --currency C           currency of the seeded wallets              default GHS
  --latency-ms N         delay before every response                 default 0
  --rate-limit N         requests per second, 0 for none             default 0
  --page-size N          largest statement page                      default 100
  --help                 print this and exit`;

/** A mistake on the command line: printed without a stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface CliOptions {
  simulator: MomoSimulatorOptions;
  wallets: number;
  transactions: [number, number];
  currency: string;
}

function integer(name: string, value: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw new CliError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

/** Parses the command line; throws {@link CliError} on anything it cannot use. */
export function parseCliOptions(argv: string[]): CliOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', default: '8089' },
        host: { type: 'string', default: '127.0.0.1' },
        'api-user': { type: 'string', default: 'momo-sim-user' },
        'api-key': { type: 'string', default: 'momo-sim-key' },
        'subscription-key': { type: 'string', default: 'momo-sim-subscription' },
        'target-environment': { type: 'string', default: 'sandbox' },
        seed: { type: 'string', default: 'momo-sim' },
        wallets: { type: 'string', default: '5' },
        transactions: { type: 'string', default: '20-60' },
        currency: { type: 'string', default: 'GHS' },
        'latency-ms': { type: 'string', default: '0' },
        'rate-limit': { type: 'string', default: '0' },
        'page-size': { type: 'string', default: '100' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const text = (name: string): string => {
    const value = String(values[name]);
    if (value.trim() === '') throw new CliError(`--${name} must not be empty`);
    return value;
  };
  const range = /^(\d+)-(\d+)$/.exec(text('transactions'));
  const transactions: [number, number] = range
    ? [
        integer('transactions', range[1] as string, 0, 100_000),
        integer('transactions', range[2] as string, 0, 100_000),
      ]
    : [-1, -1];
  if (transactions[0] < 0 || transactions[0] > transactions[1]) {
    throw new CliError(
      `--transactions must look like 20-60 (min-max), got "${values.transactions}"`,
    );
  }
  const currency = text('currency');
  if (!/^[A-Z]{3}$/.test(currency)) {
    throw new CliError(`--currency must be an ISO 4217 code such as GHS, got "${currency}"`);
  }
  return {
    simulator: {
      port: integer('port', text('port'), 0, 65_535),
      host: text('host'),
      apiUser: text('api-user'),
      apiKey: text('api-key'),
      subscriptionKey: text('subscription-key'),
      targetEnvironment: text('target-environment'),
      seed: text('seed'),
      latencyMs: integer('latency-ms', text('latency-ms'), 0, 600_000),
      rateLimitPerSecond: integer('rate-limit', text('rate-limit'), 0, 1_000_000),
      pageSize: integer('page-size', text('page-size'), 1, 1000),
    },
    wallets: integer('wallets', text('wallets'), 0, 100_000),
    transactions,
    currency,
  };
}

/** What the CLI prints once the simulator listens. */
export function describeSimulator(simulator: MomoSimulator, walletIds: string[]): string {
  const { apiUser, apiKey, subscriptionKey, targetEnvironment } = simulator.credentials;
  return [
    `MoMo simulator listening on ${simulator.url}`,
    '',
    `  MOMO_BASE_URL=${simulator.url}`,
    `  MOMO_API_USER=${apiUser}`,
    `  MOMO_API_KEY=${apiKey}`,
    `  MOMO_SUBSCRIPTION_KEY=${subscriptionKey}`,
    `  MOMO_TARGET_ENVIRONMENT=${targetEnvironment}`,
    '',
    `Seeded wallets (${walletIds.length}):`,
    ...walletIds.map((walletId) => `  ${walletId}`),
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

function listenFailure(error: unknown, options: MomoSimulatorOptions): string {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${options.host}:${options.port}`;
  if (code === 'EADDRINUSE')
    return `port ${options.port} is already in use on ${options.host}; pick another with --port`;
  if (code === 'EACCES')
    return `not allowed to listen on ${where}; pick a port above 1023 with --port`;
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return `cannot listen on ${where}: no such local address`;
  return `cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Runs the CLI; resolves with the process exit code once the simulator has shut down. */
export async function main(argv: string[]): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseCliOptions(argv);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    process.stderr.write(`momo-sim: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let simulator: MomoSimulator;
  try {
    simulator = await startMomoSimulator(options.simulator);
  } catch (error) {
    process.stderr.write(`momo-sim: ${listenFailure(error, options.simulator)}\n`);
    return 1;
  }
  const walletIds = simulator.seedWallets({
    count: options.wallets,
    transactionsPerAccount: options.transactions,
    currency: options.currency,
  });
  process.stdout.write(describeSimulator(simulator, walletIds));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await simulator.close();
  process.stdout.write('MoMo simulator stopped.\n');
  return 0;
}

const invokedDirectly =
  process.argv[1] !== undefined &&
  realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));

if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`momo-sim: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
