/**
 * Command-line parsing for the operator CLI: node:util's parseArgs with its errors turned into
 * one-line messages, and the checks every command shares. Bad input throws {@link UsageError},
 * which the CLI prints as one line and exits 2 on, before anything is touched.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A command line the CLI refuses; the message is one line saying what was wrong. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Options every command takes: where it runs. */
export const TARGET_OPTIONS = {
  local: { type: 'boolean' },
  stage: { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Help text lines of {@link TARGET_OPTIONS}. */
export const TARGET_HELP = `Where it runs:
  --local           the local stack started with npm start (reads .local-data/endpoints.json)
  --stage NAME      the deployed stage (stack MomoSync-NAME, and its momoSync.stages settings)
  --stack NAME      the deployed stack's name, when it is not MomoSync or MomoSync-<stage>
  --region REGION   AWS region (default: the usual AWS configuration)
  -h, --help        show this text

Against AWS it uses the usual credentials chain (environment, profile, SSO, role) and finds the
tables, queues and functions in the stack's outputs.`;

/** The target options as parsed. */
export interface TargetArgs {
  local: boolean;
  stage?: string;
  stack?: string;
  region?: string;
}

/** Parses `argv` strictly against `options`; no positional arguments are allowed. */
export function parseCommand<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(describeParseError(error as Error & { code?: string }));
  }
}

function describeParseError(error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${quoted ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/ambiguous/.test(error.message)) {
        return `${quoted} takes a value; write one that starts with "-" as ${quoted}=VALUE`;
      }
      // "Option '--queue <value>' argument missing" and the like: keep the first sentence.
      return (error.message.split('\n')[0] ?? error.message).replace(/\.$/, '');
    default:
      return error.message.split('\n')[0] ?? 'invalid arguments';
  }
}

/** The target options of parsed values, checked. */
export function targetArgs(values: {
  local?: boolean;
  stage?: string;
  stack?: string;
  region?: string;
}): TargetArgs {
  if (values.local && (values.stage || values.stack || values.region)) {
    throw new UsageError(
      '--local runs against the local stack: leave out --stage, --stack and --region',
    );
  }
  for (const [flag, value] of [
    ['--stage', values.stage],
    ['--stack', values.stack],
  ] as const) {
    // CloudFormation stack names: a letter, then letters, digits and hyphens.
    if (value !== undefined && !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(value)) {
      throw new UsageError(`${flag} ${JSON.stringify(value)} is not a stack or stage name`);
    }
  }
  if (values.region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(values.region)) {
    throw new UsageError(`--region ${JSON.stringify(values.region)} is not an AWS region`);
  }
  return {
    local: values.local ?? false,
    ...(values.stage !== undefined ? { stage: values.stage } : {}),
    ...(values.stack !== undefined ? { stack: values.stack } : {}),
    ...(values.region !== undefined ? { region: values.region } : {}),
  };
}

/** A whole number from `min` to `max` given for `flag`. */
export function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`${flag} ${raw} is not a whole number from ${min} to ${max}`);
  }
  return value;
}

/** An account id as the stack issues them: 1 to 128 letters, digits, `-`, `_`, `.` or `:`. */
export function accountId(flag: string, raw: string | undefined): string {
  if (raw === undefined) throw new UsageError(`${flag} is required`);
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(raw)) {
    throw new UsageError(`${flag} ${JSON.stringify(raw)} is not an account id`);
  }
  return raw;
}
