/**
 * `npm run chaos -- --scenario FILE [--json]`: runs a chaos scenario (local/scenario.ts) through
 * the local stack and holds the outcome against the invariants of ARCHITECTURE.md. Prints the
 * verdict; with `--json`, the figures as one JSON object on the last line. Exit codes: 0 every
 * invariant holds, 1 one failed or the soak broke, 2 a bad option or scenario file.
 */
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadScenario, type Scenario, ScenarioError } from '../local/scenario';
import { runSoak, type SoakResult } from './soak';

const USAGE = `Usage: npm run chaos -- --scenario FILE [--json]

Runs a chaos scenario against the local stack: rounds with every fault of the scenario on, then
faults off, the DLQs redriven and a final round, then checks the invariants of ARCHITECTURE.md
against the MoMo simulator's own truth. Scenarios ship in bench/scenarios/.

Options:
  --scenario FILE   the scenario (JSON; see docs/benchmark.md for its keys)
  --json            print the figures as one JSON object on the last line
  --log-level L     level of the handler log lines the soak scans for leaks (default INFO)
  -h, --help        show this text
`;

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

/** A wrong command line, printed as one line (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ChaosOptions {
  scenarioFile: string;
  json: boolean;
  logLevel: string;
}

/** Parses the command line; throws {@link UsageError}. */
export function parseChaosOptions(argv: string[]): ChaosOptions | 'help' {
  let values: { scenario?: string; json?: boolean; 'log-level'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        json: { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
  if (values.help) return 'help';
  if (!values.scenario) throw new UsageError('--scenario FILE is required');
  const logLevel = (values['log-level'] ?? 'INFO').toUpperCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(
      `--log-level ${values['log-level']} is not one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return { scenarioFile: values.scenario, json: values.json === true, logLevel };
}

/** The verdict as people read it. */
export function renderVerdict(name: string, scenario: Scenario, result: SoakResult): string {
  const { json } = result;
  const faults = Object.entries(json.faults_injected)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  const lines = [
    `chaos ${name}: ${json.accounts} accounts, ${scenario.rounds} round(s) with faults, ` +
      `then healed and a final round, in ${json.wall_s.toFixed(1)} s`,
    `  transactions  ${json.transactions_expected} expected, ${json.transactions_stored} stored, ` +
      `${json.lost} lost, ${json.duplicated} duplicated, ${json.stale_status} stale status`,
    `  re-links      ${json.auth_required_accounts} auth_required for ` +
      `${json.broken_links} broken links, ${json.notifications_sent} pushes, ` +
      `${json.duplicate_notifications} duplicated`,
    `  recovery      ${json.dlq_messages_redriven} dead letters redriven, ` +
      `${json.consumer_kills} consumers killed, ` +
      `circuit ${json.circuit_opened ? 'opened' : 'stayed closed'}`,
    `  provider      ${json.provider_requests} requests; injected: ${faults || 'nothing'}`,
    '',
    'Invariants',
    ...result.invariants.map(
      (invariant) => `  ${invariant.ok ? 'ok  ' : 'FAIL'}  ${invariant.name}: ${invariant.detail}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** Runs `npm run chaos`; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let options: ChaosOptions | 'help';
  let scenario: Scenario;
  try {
    options = parseChaosOptions(argv);
    if (options === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    scenario = await loadScenario(options.scenarioFile);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ScenarioError) {
      process.stderr.write(`npm run chaos: ${error.message} (see npm run chaos -- --help)\n`);
      return 2;
    }
    throw error;
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const say = (message: string) => process.stderr.write(`${message}\n`);
  const result = await runSoak(scenario, { logLevel: options.logLevel, onProgress: say });
  process.stdout.write(renderVerdict(basename(options.scenarioFile), scenario, result));
  if (options.json) process.stdout.write(`${JSON.stringify(result.json)}\n`);
  return result.json.ok ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`npm run chaos: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
