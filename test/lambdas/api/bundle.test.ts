/**
 * The api function's bundle, built with the options lib/constructs/function.ts gives esbuild,
 * stays under the 500 KB every momo-sync function is held to: the reason validation uses
 * zod/mini and the handler a router of its own.
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const LIMIT_BYTES = 500 * 1024;

describe('the api bundle', () => {
  it('is under 500 KB minified', async () => {
    const result = await build({
      entryPoints: [new URL('../../../lambdas/api/index.ts', import.meta.url).pathname],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      write: false,
      logLevel: 'silent',
    });
    const size = result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0);

    expect(size).toBeGreaterThan(0);
    expect(size).toBeLessThan(LIMIT_BYTES);
  });
});
