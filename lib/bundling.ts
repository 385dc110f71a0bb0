/**
 * How every momo-sync Lambda is bundled, in one place. The CDK construct hands these options to
 * NodejsFunction; the benchmark and the bundle tests hand them to esbuild's API, so the sizes and
 * load times they report are the deployed bundles'. Imports nothing from aws-cdk-lib, so the
 * benchmark can read it without loading the CDK.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const BUNDLE_TARGET = 'node22';
/** Prefer each package's ES module build: esbuild can drop what an ES module does not use. */
export const BUNDLE_MAIN_FIELDS = ['module', 'main'];
/** Some bundled CommonJS dependencies still call require() for Node built-ins. */
export const BUNDLE_BANNER =
  "import { createRequire as __momoCreateRequire } from 'node:module'; " +
  'const require = __momoCreateRequire(import.meta.url);';

/**
 * Packages swapped for a file of ours at bundle time. Every SDK client imports the default
 * credential chain statically, so giving a client `credentials` does not keep the chain out of
 * the bundle; only an alias does. See lambdas/shared/env-credentials.ts for why Lambda needs
 * the environment link alone.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': path.join(ROOT, 'lambdas', 'shared', 'env-credentials.ts'),
};

/** The same bundle as the stack's, for esbuild's API: one ES module, minified, with a map. */
export function lambdaBuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'esm',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: BUNDLE_MAIN_FIELDS,
    banner: { js: BUNDLE_BANNER },
    alias: { ...BUNDLE_ALIASES },
    tsconfig: path.join(ROOT, 'tsconfig.json'),
    logLevel: 'error',
  };
}

/** The aliases as NodejsFunction's `esbuildArgs`: `--alias:package=replacement`. */
export function aliasArgs(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(BUNDLE_ALIASES).map(([name, file]) => [`--alias:${name}`, file]),
  );
}
