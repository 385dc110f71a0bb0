/**
 * `npm start`: the whole stack on loopback, a demo world, one scheduled sync through the real
 * handlers, a summary read back from the tables and the invariants it can check; then it serves
 * the app API until Ctrl-C (or exits with `--once`). Exit codes: 0 all invariants hold, 1 one
 * failed or the run broke, 2 a bad option or a port already taken.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Account } from '../core/model';
import { DEMO_USERS, loadWorldState, seedDemo, worldClock } from './demo';
import { FUNCTION_NAMES, LOCAL_PROFILE } from './env';
import { DEFAULT_ENDPOINTS_FILE, type ExposedStack, exposeToOperators } from './operators';
import { createProgress } from './progress';
import {
  checkInvariants,
  type RunScope,
  renderDemoUsers,
  renderPushes,
  renderReport,
  scanAll,
  summarize,
  tokenCommand,
} from './report';
import { loadScenario, type Scenario, ScenarioError } from './scenario';
import { type LocalStack, MAX_BASE_PORT, PortInUseError, startLocalStack } from './stack';

const USAGE = `Usage: npm start -- [options]

Runs momo-sync on this machine: DynamoDB (dynalite), SQS (local-aws-sqs), the MoMo simulator,
a OneSignal stub and the app API, syncs demo wallets once, prints a summary, then serves.

Options:
  --accounts N      demo wallets and accounts to create (default 12)
  --port P          port of the app API; the other servers use P+1 to P+5 (default 4000;
                    0 gives every server a free port)
  --data DIR        keep DynamoDB and the demo world in DIR (default: in memory)
  --scenario FILE   take the world's seed, size, latency and rate limit from a chaos scenario
  --log-level L     handler log level: DEBUG, INFO, WARN, ERROR or SILENT (default ERROR)
  --once            exit after the summary: 0 when every invariant holds, 1 otherwise
  -h, --help        show this text
`;

const DEFAULT_PORT = 4000;
const PROGRESS_EVERY_MS = 250;
const DEFAULT_ACCOUNTS = 12;
const MAX_ACCOUNTS = 100_000;
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'];
/** How long one scheduled sync may take before the run is declared stuck. */
const DRAIN_TIMEOUT_MS = 15 * 60_000;

/** A wrong command line: printed as one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface StartOptions {
  accounts: number;
  port: number;
  dataDir?: string;
  scenarioFile?: string;
  logLevel: string;
  once: boolean;
}

/** Parses the command line; throws {@link UsageError} with a one-line reason. */
export function parseStartOptions(argv: string[]): StartOptions | 'help' {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  if (values.help) return 'help';
  const accounts = wholeNumber('--accounts', values.accounts, DEFAULT_ACCOUNTS, 1, MAX_ACCOUNTS);
  const port = wholeNumber('--port', values.port, DEFAULT_PORT, 0, MAX_BASE_PORT);
  const logLevel = (values['log-level'] ?? 'ERROR').toUpperCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(
      `--log-level ${values['log-level']} is not one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return {
    accounts,
    port,
    ...(values.data ? { dataDir: values.data } : {}),
    ...(values.scenario ? { scenarioFile: values.scenario } : {}),
    logLevel,
    once: values.once ?? false,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      accounts: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      scenario: { type: 'string' },
      'log-level': { type: 'string' },
      once: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function wholeNumber(
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`${flag} ${raw} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Runs `npm start`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let options: StartOptions | 'help';
  let scenario: Scenario | undefined;
  try {
    options = parseStartOptions(argv);
    if (options === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    if (options.scenarioFile) {
      scenario = await loadScenario(options.scenarioFile);
      process.stdout.write(
        `scenario ${options.scenarioFile}: seed, size, latency and rate limit taken; ` +
          'its faults and rounds are run by npm run chaos\n',
      );
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ScenarioError) {
      process.stderr.write(`npm start: ${error.message} (see npm start -- --help)\n`);
      return 2;
    }
    throw error;
  }

  const startedAt = Date.now();
  const out = (text: string) => process.stdout.write(text);
  const world = await loadWorldState(options.dataDir);
  const clock = worldClock(scenario ? { ...world, seed: String(scenario.seed) } : world);
  const accountCount = scenario?.accounts ?? options.accounts;
  let handlerErrors = 0;
  let retriedMessages = 0;
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      basePort: options.port,
      logLevel: options.logLevel,
      api: { demoUsers: [...DEMO_USERS] },
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      simulator: {
        seed: scenario ? String(scenario.seed) : world.seed,
        clock: clock.clock,
        ...(scenario
          ? { latencyMs: scenario.latencyMs, rateLimitPerSecond: scenario.rateLimitPerSecond }
          : {}),
      },
      onBatch: (batch) => {
        if (batch.functionName === FUNCTION_NAMES.syncAccount) retriedMessages += batch.failed;
      },
      onError: () => {
        handlerErrors += 1;
      },
    });
  } catch (error) {
    if (error instanceof PortInUseError) {
      process.stderr.write(
        `npm start: ${error.message}; free it or pass --port with another base port\n`,
      );
      return 2;
    }
    throw error;
  }

  // Set once the stack serves: what `npm run ops -- <command> --local` finds it through.
  let operators: ExposedStack | undefined;
  const shutdown = once(async () => {
    await operators?.close();
    await stack.close();
  });
  const signals = handleSignals(shutdown);
  try {
    const demo = await seedDemo(
      stack.simulator,
      stack.doc,
      stack.tables.accounts,
      accountCount,
      new Date(),
      scenario?.transactionsPerAccount,
    );
    clock.unfreeze();
    for (const user of DEMO_USERS) stack.oneSignal.addDevice(user);
    out(
      `momo-sync local stack up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s: ` +
        `${demo.length} demo wallets, ${demo.filter((d) => d.link !== 'active').length} with a broken link\n`,
    );

    const tickAt = new Date();
    const since = tickAt.toISOString();
    const dueBy = new Date(tickAt.getTime() + LOCAL_PROFILE.sync.dueToleranceMinutes * 60_000);
    const dueAccountIds = (await scanAll<Account>(stack.doc, stack.tables.accounts))
      .filter(
        (account) => account.dueAt <= dueBy.toISOString() && account.syncStatus !== 'auth_required',
      )
      .map((account) => account.accountId);

    const tick = await stack.tick(tickAt);
    const runId = `schedule-${tick.scheduledTime}`;
    const progress = createProgress();
    const due = dueAccountIds.length;
    let drained = false;
    const watching = (async () => {
      while (!drained) {
        const began = Date.now();
        const done = Math.min(await countAttempted(stack, since), due);
        progress.update(
          `syncing ${bar(done, due)} ${done}/${due} accounts` +
            `${retriedMessages > 0 ? `, ${retriedMessages} messages retried` : ''}` +
            `  ${((Date.now() - tickAt.getTime()) / 1000).toFixed(1)} s`,
        );
        // A scan per tick: keep it a small share of the work on large fleets.
        await sleep(Math.max(PROGRESS_EVERY_MS, 4 * (Date.now() - began)));
      }
    })();
    try {
      await stack.drain({ timeoutMs: DRAIN_TIMEOUT_MS });
    } finally {
      drained = true;
      await watching;
    }
    const wallSeconds = (Date.now() - tickAt.getTime()) / 1000;
    progress.done(`synced in ${wallSeconds.toFixed(1)} s`);

    const sources = {
      doc: stack.doc,
      sqs: stack.sqs,
      tables: stack.tables,
      queues: stack.queues,
      simulator: stack.simulator,
      oneSignal: stack.oneSignal,
      sqsRequests: () => stack.sqsWorkRequests(),
    };
    const scope: RunScope = { runId, since, dueAccountIds, pushableOwners: [...DEMO_USERS] };
    const summary = await summarize(sources, scope);
    const invariants = await checkInvariants(sources, scope);
    out(`\n${renderReport(summary, invariants, wallSeconds)}`);
    out(`\n${renderPushes(stack.oneSignal.pushes())}`);
    out(`\n${renderDemoUsers(demo, stack.api?.url)}`);
    if (dueAccountIds.length === 0 && summary.accounts > 0) {
      out('\nnote: no account was due; an earlier run in this --data directory synced them\n');
    }
    if (handlerErrors > 0) {
      out(
        `\nnote: ${handlerErrors} handler or poller errors; rerun with --log-level WARN to see them\n`,
      );
    }
    const ok = invariants.every((invariant) => invariant.ok);
    if (options.once) {
      await shutdown();
      return ok ? 0 : 1;
    }
    operators = await exposeToOperators(stack, {
      onError: () => {
        handlerErrors += 1;
      },
    });
    out(`\n${servingBanner(stack, operators)}`);
    return await signals.serve();
  } catch (error) {
    await shutdown();
    throw error;
  }
}

/** Accounts that a sync attempted since `since`, counted by the engine (one Scan, COUNT). */
async function countAttempted(stack: LocalStack, since: string): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await stack.doc.send(
      new ScanCommand({
        TableName: stack.tables.accounts,
        Select: 'COUNT',
        FilterExpression: 'lastAttemptAt >= :since OR lastSyncedAt >= :since',
        ExpressionAttributeValues: { ':since': since },
        ExclusiveStartKey: startKey,
      }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function bar(done: number, total: number, width = 20): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function servingBanner(stack: LocalStack, operators: ExposedStack): string {
  const lines = [
    'Serving (Ctrl-C to stop):',
    ...(stack.api
      ? [`  app API      ${stack.api.url}  (token: ${tokenCommand(DEMO_USERS[0], stack.api.url)})`]
      : ['  app API      not available (lambdas/api is missing)']),
    `  DynamoDB     ${stack.endpoints.dynamodb}`,
    `  SQS          ${stack.endpoints.sqs}`,
    `  Secrets      ${stack.endpoints.secretsManager}`,
    `  MoMo         ${stack.endpoints.momo}`,
    `  OneSignal    ${stack.endpoints.oneSignal}`,
    operators.file !== null
      ? '  Operators    npm run ops -- <command> --local (npm run ops -- --help)'
      : `  Operators    --local reaches the stack of pid ${operators.heldBy}, which holds ${DEFAULT_ENDPOINTS_FILE}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Ctrl-C and SIGTERM from the moment the stack is up: during the first sync they shut down and
 * exit 130; while serving, `stopped` resolves once everything is closed. A second Ctrl-C exits
 * at once.
 */
function handleSignals(shutdown: () => Promise<void>) {
  let serving = false;
  let stopping = false;
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });
  const onSignal = () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write('\nstopping...\n');
    shutdown().then(
      () => (serving ? resolveStopped(0) : process.exit(130)),
      (error: unknown) => {
        process.stderr.write(`npm start: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    /** Resolves with the exit code once a signal has closed everything. */
    serve(): Promise<number> {
      serving = true;
      return stopped;
    },
  };
}

function once<T>(run: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => {
    result ??= run();
    return result;
  };
}

// Run only as the entry point, so tests can import the parser.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`npm start: ${(error as Error).message ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
