/**
 * What the running local stack offers operators' tools: a state file with its endpoints, table
 * names and queue URLs (`npm run ops -- <command> --local` reads it), and a Lambda Invoke
 * endpoint for the fan-out, so that `ops fan-out --local` sends the very event it sends to the
 * deployed function. The first stack to serve owns the file (a second one, say a test run,
 * leaves it alone) and removes it when it stops, so a stale one cannot mislead.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { startLocalLambda } from './engines/lambda';
import { FUNCTION_NAMES, LOCAL_PROFILE } from './env';
import { createContext } from './poller';
import type { LocalStack } from './stack';

/** Where `npm start` writes the file, relative to the working directory. */
export const DEFAULT_ENDPOINTS_FILE = '.local-data/endpoints.json';

/** Environment variable that points the CLI at another file (tests, a second stack). */
export const ENDPOINTS_FILE_ENV = 'MOMO_SYNC_LOCAL_ENDPOINTS';

/** The state file's content. */
export interface LocalEndpointsFile {
  region: string;
  dynamodb: string;
  sqs: string;
  /** Lambda Invoke endpoint serving {@link functions}. */
  lambda: string;
  tables: { accounts: string; syncRuns: string; control: string };
  /** Queue and DLQ URLs by definition name (`sync`, `manual`, `fanout`, `notify`). */
  queues: Record<string, { url: string; dlqUrl: string }>;
  functions: { fanOut: string };
  /** The process that serves them, for a "not running" message. */
  pid: number;
}

/** Writes the state file (creating its folder). */
export async function writeLocalEndpoints(file: string, content: LocalEndpointsFile) {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(content, null, 2)}\n`, 'utf8');
}

/** Thrown when there is no usable state file: the local stack is not running. */
export class LocalStackNotRunningError extends Error {
  constructor(readonly file: string) {
    super(`no local stack endpoints in ${file}: start one with npm start`);
    this.name = 'LocalStackNotRunningError';
  }
}

/** Reads the state file; throws {@link LocalStackNotRunningError} when it is absent or broken. */
export async function readLocalEndpoints(file: string): Promise<LocalEndpointsFile> {
  let content: LocalEndpointsFile;
  try {
    content = JSON.parse(await readFile(file, 'utf8')) as LocalEndpointsFile;
  } catch {
    throw new LocalStackNotRunningError(file);
  }
  if (typeof content?.dynamodb !== 'string' || typeof content.sqs !== 'string') {
    throw new LocalStackNotRunningError(file);
  }
  return content;
}

async function ownerOf(file: string): Promise<number | undefined> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as LocalEndpointsFile).pid;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    // Signal 0 checks that the process exists without touching it.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ExposedStack {
  /** The state file written, or null when none was (asked for none, or another stack holds it). */
  file: string | null;
  /** The live process whose stack holds the file, when it is not this one. */
  heldBy?: number;
  lambdaEndpoint: string;
  close(): Promise<void>;
}

/**
 * Serves the fan-out over the Invoke API and writes the state file (`null` writes none). Call
 * `close` before the stack closes.
 */
export async function exposeToOperators(
  stack: LocalStack,
  options: { file?: string | null; host?: string; onError?: (error: unknown) => void } = {},
): Promise<ExposedStack> {
  const wanted = options.file === undefined ? DEFAULT_ENDPOINTS_FILE : options.file;
  // A stack already serving keeps the file: a second one (a test run, a benchmark) must not
  // point an operator's commands at itself behind their back.
  const holder = wanted === null ? undefined : await ownerOf(wanted);
  const heldBy =
    holder !== undefined && holder !== process.pid && isAlive(holder) ? holder : undefined;
  const file = heldBy === undefined ? wanted : null;
  const fanOut = stack.handlers.fanOut[0];
  if (!fanOut) throw new Error('the local stack has no fan-out handler');
  const lambda = await startLocalLambda({
    host: options.host,
    functions: {
      [FUNCTION_NAMES.fanOut]: (event) =>
        fanOut(
          event as never,
          createContext(
            FUNCTION_NAMES.fanOut,
            LOCAL_PROFILE.fanOut.timeoutSeconds * 1000,
            stack.region,
          ),
        ),
    },
    onError: (error) => options.onError?.(error),
  });
  if (file !== null) {
    await writeLocalEndpoints(file, {
      region: stack.region,
      dynamodb: stack.endpoints.dynamodb,
      sqs: stack.endpoints.sqs,
      lambda: lambda.endpoint,
      tables: {
        accounts: stack.tables.accounts,
        syncRuns: stack.tables.syncRuns,
        control: stack.tables.control,
      },
      queues: Object.fromEntries(
        Object.entries(stack.queues).map(([name, queue]) => [
          name,
          { url: queue.url, dlqUrl: queue.dlqUrl },
        ]),
      ),
      functions: { fanOut: FUNCTION_NAMES.fanOut },
      pid: process.pid,
    });
  }
  return {
    file,
    ...(heldBy !== undefined ? { heldBy } : {}),
    lambdaEndpoint: lambda.endpoint,
    close: async () => {
      // Only our own file: another stack started since may have written its endpoints there.
      if (file !== null && (await ownerOf(file)) === process.pid) await rm(file, { force: true });
      await lambda.close();
    },
  };
}
