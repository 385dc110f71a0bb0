/** Runs the project's npm scripts as a user would, in a child process, for command-level tests. */
import { spawn } from 'node:child_process';

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
