/**
 * Cold start of each Lambda: the size of its bundle and the time its module takes to load in a
 * fresh `node` process, beside an empty handler bundled the same way, so the figure separates
 * what our code and its dependencies cost from what Node itself costs.
 *
 * The bundles are built with esbuild's API and the options of lib/bundling.ts, the ones
 * lib/constructs/function.ts gives NodejsFunction, so the figures are the deployed bundles'.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { lambdaBuildOptions } from '../lib/bundling';
import { QUEUES } from '../lib/resources';
import type { LocalQueue } from '../local/engines/sqs';
import { localEnvironment } from '../local/env';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
/** Where no server listens: a handler that tried the network at load would fail, not hang. */
const NOWHERE = 'http://127.0.0.1:9';
const EMPTY_HANDLER = 'export const handler = async () => ({ statusCode: 200 });\n';

export interface FunctionColdStart {
  /** Bytes of `index.mjs` (the source map ships beside it but is read only on an error). */
  bundleBytes: number;
  /** Median milliseconds of `import()` of the bundle in a fresh process. */
  initMs: number;
  samples: number[];
}

export interface ColdStartFigures {
  functions: Record<string, FunctionColdStart>;
  empty: FunctionColdStart;
}

/** The handler folders under lambdas/ that have an `index.ts`. */
export async function lambdaEntries(): Promise<string[]> {
  const dirs = await readdir(join(ROOT, 'lambdas'), { withFileTypes: true });
  const entries: string[] = [];
  for (const dir of dirs) {
    if (!dir.isDirectory()) continue;
    const exists = await stat(join(ROOT, 'lambdas', dir.name, 'index.ts')).catch(() => undefined);
    if (exists) entries.push(dir.name);
  }
  return entries.sort();
}

/** Bundles one entry as the CDK stack does; resolves with the path of `index.mjs`. */
export async function bundleLike(entry: string, outdir: string): Promise<string> {
  await mkdir(outdir, { recursive: true });
  const outfile = join(outdir, 'index.mjs');
  await build(lambdaBuildOptions(entry, outfile));
  return outfile;
}

/** The variables each handler reads at load, with values that lead nowhere. */
function dummyEnvironment(service: string): Record<string, string> {
  const queues: Record<string, LocalQueue> = {};
  for (const def of QUEUES) {
    const url = `${NOWHERE}/123456789012/${def.localName}`;
    const arn = `arn:aws:sqs:us-east-1:123456789012:${def.localName}`;
    queues[def.name] = {
      def,
      url,
      arn,
      dlqUrl: `${url}-dlq`,
      dlqArn: `${arn}-dlq`,
      visibilityTimeoutSeconds: 30,
    };
  }
  return {
    ...localEnvironment({
      region: 'us-east-1',
      endpoints: {
        dynamodb: NOWHERE,
        sqs: NOWHERE,
        secretsManager: NOWHERE,
        provider: NOWHERE,
        oneSignal: NOWHERE,
      },
      queues,
      oneSignalAppId: '00000000-0000-4000-8000-000000000000',
      logLevel: 'ERROR',
    }),
    // As lib/constructs/function.ts sets them on every function.
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: service,
    // Metrics on, as deployed: the Metrics constructor is part of the load.
    POWERTOOLS_METRICS_DISABLED: 'false',
  };
}

const LOADER = `
const started = performance.now();
await import(process.argv[1]);
process.stdout.write(JSON.stringify({ ms: performance.now() - started }));
`;

/** Milliseconds one fresh process takes to import the bundle. */
function loadOnce(bundle: string, env: Record<string, string>): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', LOADER, pathToFileURL(bundle).href],
      { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`loading ${bundle} failed (exit ${code}): ${err.trim().slice(0, 500)}`));
        return;
      }
      resolvePromise((JSON.parse(line) as { ms: number }).ms);
    });
  });
}

async function measure(
  bundle: string,
  env: Record<string, string>,
  samples: number,
): Promise<FunctionColdStart> {
  const times: number[] = [];
  // Interleaving is left to the caller; here one bundle after another, first load discarded so
  // the file is in the page cache for every counted sample, as Lambda's image would be.
  await loadOnce(bundle, env);
  for (let index = 0; index < samples; index += 1) times.push(await loadOnce(bundle, env));
  return { bundleBytes: (await stat(bundle)).size, initMs: median(times), samples: times };
}

/** Bundles every function and an empty handler, then times their loads. */
export async function measureColdStarts(
  options: { samples?: number; onProgress?: (message: string) => void } = {},
): Promise<ColdStartFigures> {
  const samples = Math.max(5, options.samples ?? 7);
  const work = join(tmpdir(), `momo-sync-bench-${process.pid}`);
  try {
    const functions: Record<string, FunctionColdStart> = {};
    for (const name of await lambdaEntries()) {
      options.onProgress?.(`cold start: ${name}`);
      const bundle = await bundleLike(join(ROOT, 'lambdas', name, 'index.ts'), join(work, name));
      functions[name] = await measure(bundle, dummyEnvironment(name), samples);
    }
    options.onProgress?.('cold start: empty handler');
    const emptyEntry = join(work, 'empty-src', 'index.ts');
    await mkdir(join(work, 'empty-src'), { recursive: true });
    await writeFile(emptyEntry, EMPTY_HANDLER);
    const emptyBundle = await bundleLike(emptyEntry, join(work, 'empty'));
    const empty = await measure(emptyBundle, dummyEnvironment('empty'), samples);
    return { functions, empty };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
