/** Runs the project's npm scripts as a user would, in a child process, for command-level tests. */
import { type ChildProcess, spawn } from 'node:child_process';

export interface NpmRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npm run <script> --silent -- <args>` from the repository root and collects its output. */
export function runNpmScript(script: string, args: string[]): Promise<NpmRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', script, '--silent', '--', ...args], {
      cwd: new URL('../..', import.meta.url),
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServingCommand {
  child: ChildProcess;
  /** Everything the command has printed to stdout so far. */
  stdout(): string;
}

/**
 * Starts a TypeScript entry point as `npm start` or `npm run momo-sim` would (node with tsx, from
 * the repository root) and resolves once its stdout contains `ready`; rejects if it exits first.
 */
export function startServing(args: string[], ready: string): Promise<ServingCommand> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: new URL('../..', import.meta.url),
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes(ready)) resolve({ child, stdout: () => stdout });
    });
    child.once('exit', () => reject(new Error(`exited before "${ready}": ${stdout}`)));
  });
}
