/**
 * `npm run bench`: the fleet against the naive loop on the same world, the cost of each unit of
 * work counted at the adapters, and each Lambda's cold start, measured in one run. Prints a
 * report; with `--json`, the figures as one JSON object on the last line. docs/benchmark.md says
 * how to read them.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runBaseline, type WorldOptions } from './baseline';
import { measureColdStarts } from './cold-start';
import { runFleet } from './fleet';
import { benchJson, renderBenchReport } from './report';
import { concurrencyFor } from './world';

/**
 * Sized for a 2-core machine, where the whole local stack shares one Node process: at 10
 * requests a second the provider, not the machine, stays the bottleneck (docs/benchmark.md).
 */
export const DEFAULTS = {
  accounts: 300,
  latencyMs: 300,
  rateLimitPerSecond: 10,
  transactionsPerAccount: [2, 12] as [number, number],
  seed: 'bench',
};

const TX_DEFAULT = DEFAULTS.transactionsPerAccount.join('-');
const USAGE = `Usage: npm run bench -- [options]

Runs the fleet (the local stack with the real handlers) and the naive one-account-after-another
loop over the same simulated world, then times each Lambda's cold start.

Options:
  --accounts N        accounts in the world (default ${DEFAULTS.accounts})
  --latency-ms L      simulator latency per request (default ${DEFAULTS.latencyMs})
  --rate-limit R      simulator requests per second (default ${DEFAULTS.rateLimitPerSecond})
  --concurrency C     consumer batches at once (default: sized to the rate limit, see the report)
  --transactions A-B  history per wallet, A to B transactions (default ${TX_DEFAULT})
  --skip-cold-start   leave out the cold-start measurements
  --seed S            world seed (default bench)
  --json              print the figures as one JSON object on the last line
  -h, --help          show this text
`;

export interface BenchOptions {
  accounts: number;
  latencyMs: number;
  rateLimitPerSecond: number;
  concurrency?: number;
  /** Generated history per wallet, inclusive range: what the first run imports. */
  transactionsPerAccount: [number, number];
  coldStart: boolean;
  seed: string;
  json: boolean;
}

/** A wrong command line, printed as one line (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses the command line; throws {@link UsageError}. */
export function parseBenchOptions(argv: string[]): BenchOptions | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        accounts: { type: 'string' },
        'latency-ms': { type: 'string' },
        'rate-limit': { type: 'string' },
        concurrency: { type: 'string' },
        transactions: { type: 'string' },
        'skip-cold-start': { type: 'boolean' },
        seed: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  if (values.help) return 'help';
  const concurrency = values.concurrency as string | undefined;
  const transactions = parseRange(values.transactions);
  return {
    accounts: whole('--accounts', values.accounts, DEFAULTS.accounts, 1, 100_000),
    latencyMs: whole('--latency-ms', values['latency-ms'], DEFAULTS.latencyMs, 0, 60_000),
    rateLimitPerSecond: whole(
      '--rate-limit',
      values['rate-limit'],
      DEFAULTS.rateLimitPerSecond,
      1,
      10_000,
    ),
    ...(concurrency === undefined
      ? {}
      : { concurrency: whole('--concurrency', concurrency, 0, 2, 1000) }),
    transactionsPerAccount: transactions,
    coldStart: values['skip-cold-start'] !== true,
    seed: typeof values.seed === 'string' && values.seed !== '' ? values.seed : DEFAULTS.seed,
    json: values.json === true,
  };
}

function parseRange(raw: string | boolean | undefined): [number, number] {
  if (raw === undefined) return DEFAULTS.transactionsPerAccount;
  const match = /^(\d+)-(\d+)$/.exec(String(raw));
  const [min, max] = match ? [Number(match[1]), Number(match[2])] : [Number.NaN, Number.NaN];
  if (!match || min > max || max > 10_000) {
    throw new UsageError(`--transactions ${raw} is not a range MIN-MAX with MIN <= MAX <= 10000`);
  }
  return [min, max];
}

function whole(
  flag: string,
  raw: string | boolean | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const text = String(raw);
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag} ${text} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Runs the benchmark; resolves with the exit code (1 when the fleet lost or duplicated work). */
export async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`npm run bench: ${error.message} (see npm run bench -- --help)\n`);
      return 2;
    }
    throw error;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  // Before the first SDK client: Node 20 is what this project runs on, the warning is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const began = performance.now();
  const say = (message: string) => process.stderr.write(`${message}\n`);
  const world: WorldOptions = {
    seed: options.seed,
    epochMs: Date.now(),
    accounts: options.accounts,
    transactionsPerAccount: options.transactionsPerAccount,
    latencyMs: options.latencyMs,
    rateLimitPerSecond: options.rateLimitPerSecond,
  };
  say(`naive loop: ${world.accounts} accounts one after another`);
  const baseline = await runBaseline(world);
  const concurrency =
    options.concurrency ?? concurrencyFor(world.rateLimitPerSecond, baseline.secondsPerAccount);
  say(`fleet: consumer concurrency ${concurrency}`);
  const fleet = await runFleet({ ...world, concurrency, onProgress: say });
  const coldStart = options.coldStart ? await measureColdStarts({ onProgress: say }) : undefined;
  const result = {
    world,
    concurrency,
    baseline,
    fleet,
    ...(coldStart ? { coldStart } : {}),
    totalSeconds: (performance.now() - began) / 1000,
  };
  const json = benchJson(result);
  process.stdout.write(renderBenchReport(result, json));
  if (options.json) process.stdout.write(`${JSON.stringify(json)}\n`);
  return json.lost === 0 && json.duplicated === 0 && json.invariants_ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`npm run bench: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
