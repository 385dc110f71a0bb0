/**
 * `npm run ops -- <command>`: the operator's commands for momo-sync, against the deployed stack
 * (the usual AWS credentials chain) or the local one (`--local`). Exit codes: 0 done, 1 the
 * command failed (an account not found, messages not moved, AWS refused), 2 bad input, refused
 * before anything was touched.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CONTEXT_KEY,
  ConfigError,
  type ContextSource,
  loadConfig,
  STAGE_CONTEXT_KEY,
} from '../lib/config';
import { UsageError } from './args';
import type { Command, CommandContext } from './command';
import { accountCommand } from './commands/account';
import { fanOutCommand } from './commands/fan-out';
import { frequencyCommand } from './commands/frequency';
import { redriveCommand } from './commands/redrive';
import { type OpenTarget, openTarget, TargetError } from './target';

export const COMMANDS: readonly Command[] = [
  redriveCommand,
  accountCommand,
  frequencyCommand,
  fanOutCommand,
];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export const USAGE = `Usage: npm run ops -- <command> [options]

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(11)} ${command.summary}`).join('\n')}

Every command takes --local (the stack npm start runs) or --stage/--stack/--region (a deployed
stack), and --help for its own options. Runbook: docs/operations.md.
`;

/** The configuration of cdk.json, with the stage's overrides when one is named. */
export function configFromCdkJson(stage?: string) {
  const cdkJson = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const context = cdkJson.context ?? {};
  // loadConfig's own message says `-c stage=`, the CDK's flag; an operator typed --stage.
  const stages = (context[CONTEXT_KEY] as { stages?: Record<string, unknown> } | undefined)?.stages;
  if (stage !== undefined && !Object.hasOwn(stages ?? {}, stage)) {
    const known = Object.keys(stages ?? {});
    throw new UsageError(
      `--stage ${JSON.stringify(stage)} has no ${CONTEXT_KEY}.stages entry in cdk.json: ` +
        (known.length > 0 ? `use one of ${known.join(', ')}` : 'leave --stage out'),
    );
  }
  const source: ContextSource = {
    tryGetContext: (key) => (key === STAGE_CONTEXT_KEY ? stage : context[key]),
  };
  return loadConfig(source);
}

export interface CliDeps {
  out?: (text: string) => void;
  err?: (text: string) => void;
  openTarget?: OpenTarget;
  now?: () => Date;
}

/** Runs one command line; resolves with the exit code. */
export async function runCli(argv: string[], deps: CliDeps = {}): Promise<number> {
  // The SDK's notice about future Node.js versions is noise in an operator's terminal.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const out = deps.out ?? ((text: string) => process.stdout.write(text));
  const err = deps.err ?? ((text: string) => process.stderr.write(text));
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    err(
      `ops: unknown command ${JSON.stringify(name)}: use one of ` +
        `${COMMANDS.map((candidate) => candidate.name).join(', ')} (see npm run ops -- --help)\n`,
    );
    return 2;
  }
  const context: CommandContext = {
    openTarget: deps.openTarget ?? openTarget,
    loadConfig: configFromCdkJson,
    out,
    now: deps.now ?? (() => new Date()),
  };
  try {
    const result = await command.run(rest, context);
    if ('help' in result) {
      out(command.help);
      return 0;
    }
    return result.code;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`ops ${name}: ${error.message} (see npm run ops -- ${name} --help)\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      err(`ops ${name}: ${error.message.split('\n').join('; ')}\n`);
      return 2;
    }
    if (error instanceof TargetError) {
      err(`ops ${name}: ${error.message}\n`);
      return 1;
    }
    err(`ops ${name}: failed: ${(error as Error).name}: ${(error as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
