/** The shape of an operator command, and what the CLI hands it. */
import type { MomoSyncConfig } from '../lib/config';
import type { OpenTarget } from './target';

export interface CommandContext {
  /** Opens the target; a command calls it only once its input is checked. */
  openTarget: OpenTarget;
  /** The deployment configuration of a stage (cdk.json), for bounds such as the interval's. */
  loadConfig(stage?: string): MomoSyncConfig;
  out(text: string): void;
  now(): Date;
}

/** What a command ended with: an exit code, or a request for its help text. */
export type CommandResult = { code: number } | { help: true };

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  help: string;
  /** Runs with the arguments after the command name; throws UsageError on bad input. */
  run(argv: string[], context: CommandContext): Promise<CommandResult>;
}
