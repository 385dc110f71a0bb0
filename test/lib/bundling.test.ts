import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildStack } from './stack';

// The one synth that runs esbuild: every other infrastructure test skips bundling.
const outdir = mkdtempSync(join(tmpdir(), 'momo-sync-cdk-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('function bundling', () => {
  const { stack, app } = buildStack({ bundling: true, outdir });
  const assembly = app.synth();
  const manifest = JSON.parse(
    readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'),
  ) as { files: Record<string, { source: { path: string } }> };
  const assetDirs = Object.values(manifest.files)
    .map((file) => join(assembly.directory, file.source.path))
    .filter((path) => existsSync(join(path, 'index.mjs')));

  it('bundles each function into its own ES module with a source map', () => {
    const functions = stack.node.findAll().filter((c) => c instanceof NodejsFunction);
    expect(assetDirs).toHaveLength(functions.length);
    for (const dir of assetDirs) {
      expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
    }
  });

  it('bundles every dependency, the AWS SDK included: it imports only Node built-ins', () => {
    for (const dir of assetDirs) {
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      const specifiers = [
        // Static imports: `import x from"m"`, `import{a as b}from"m"`, `import"m"`.
        ...code.matchAll(/(?:^|[;}\n])\s*import\s*(?:[\w$*{},\s]+?\s*from\s*)?["']([^"']+)["']/g),
        ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
      ].map((match) => match[1] ?? '');
      const external = specifiers.filter(
        (specifier) => !specifier.startsWith('node:') && !builtinModules.includes(specifier),
      );
      expect(specifiers.length).toBeGreaterThan(0);
      expect(external).toEqual([]);
    }
  });

  it("swaps the SDK's default credential chain for the environment provider", () => {
    for (const dir of assetDirs) {
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      // The environment provider's own error, and a key only the SSO and ini links read.
      expect(code).toContain('Unable to find environment variable credentials');
      expect(code).not.toContain('sso_session');
    }
  });

  it('minifies the bundle', () => {
    for (const dir of assetDirs) {
      const lines = readFileSync(join(dir, 'index.mjs'), 'utf8').split('\n').length;
      // Minified output is a few very long lines (template literals keep their line breaks).
      expect(lines).toBeLessThan(200);
    }
  });
});
