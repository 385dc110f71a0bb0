/**
 * The Lambda bundles as lib/bundling.ts builds them (the options the stack gives NodejsFunction):
 * their weight against the 500 KB target, and the credential alias that keeps the SDK's default
 * chain out of them, checked by what goes into a bundle and by what a bundled client does.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaEntries } from '../../bench/cold-start';
import { lambdaBuildOptions } from '../../lib/bundling';
import { type RunningDynalite, startDynalite } from '../../local/engines/dynamo';

const ROOT = new URL('../..', import.meta.url).pathname;
const LIMIT_BYTES = 500 * 1024;
/** Packages that only the SDK's full credential chain brings in. */
const DEFAULT_CHAIN = [
  '@aws-sdk/credential-provider-node/',
  '@aws-sdk/nested-clients/',
  '@aws-sdk/credential-provider-sso/',
  '@aws-sdk/credential-provider-ini/',
  '@smithy/credential-provider-imds/',
];
const run = promisify(execFile);

interface Bundle {
  bytes: number;
  inputs: Metafile['outputs'][string]['inputs'];
}

const workdir = mkdtempSync(join(tmpdir(), 'momo-sync-bundle-'));
afterAll(() => rmSync(workdir, { recursive: true, force: true }));

async function bundle(name: string): Promise<Bundle> {
  const outfile = join(workdir, name, 'index.mjs');
  const options = lambdaBuildOptions(join(ROOT, 'lambdas', name, 'index.ts'), outfile);
  const result = await build({ ...options, write: false, metafile: true });
  const [, output] = Object.entries(result.metafile.outputs).find(([file]) =>
    file.endsWith('index.mjs'),
  ) ?? ['', undefined];
  if (!output) throw new Error(`no index.mjs for ${name}`);
  return { bytes: output.bytes, inputs: output.inputs };
}

function bytesFrom(b: Bundle, packagePath: string): number {
  return Object.entries(b.inputs)
    .filter(([file]) => file.includes(`node_modules/${packagePath}`))
    .reduce((sum, [, input]) => sum + input.bytesInOutput, 0);
}

describe('the Lambda bundles', async () => {
  const names = await lambdaEntries();
  const bundles = new Map<string, Bundle>();
  beforeAll(async () => {
    for (const name of names) bundles.set(name, await bundle(name));
  }, 60_000);

  it('covers every handler', () => {
    expect(names).toEqual(['api', 'fan-out', 'notifier', 'sync-account']);
  });

  it.each(['api', 'fan-out', 'sync-account'])('keeps %s under 500 KB minified', (name) => {
    const { bytes } = bundles.get(name) as Bundle;
    expect(bytes).toBeGreaterThan(100 * 1024);
    expect(bytes).toBeLessThan(LIMIT_BYTES);
  });

  it('keeps the notifier under 500 KB apart from the OneSignal SDK it must carry', () => {
    const notifier = bundles.get('notifier') as Bundle;
    const oneSignal = bytesFrom(notifier, '@onesignal/node-onesignal/');
    expect(oneSignal).toBeGreaterThan(0);
    expect(notifier.bytes - oneSignal).toBeLessThan(LIMIT_BYTES);
  });

  it('bundles the environment credential provider in place of the default chain', () => {
    for (const [name, b] of bundles) {
      const files = Object.keys(b.inputs);
      expect(
        files.filter((file) => DEFAULT_CHAIN.some((p) => file.includes(p))),
        name,
      ).toEqual([]);
      expect(files, name).toContain('lambdas/shared/env-credentials.ts');
      expect(bytesFrom(b, '@aws-sdk/credential-provider-env/'), name).toBeGreaterThan(0);
    }
  });
});

describe('an SDK client in a bundle', () => {
  let dynamo: RunningDynalite;
  let probe: string;
  beforeAll(async () => {
    dynamo = await startDynalite();
    probe = join(workdir, 'probe', 'index.mjs');
    const contents = [
      "import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';",
      'const client = new DynamoDBClient({ endpoint: process.env.PROBE_ENDPOINT });',
      'try {',
      '  const out = await client.send(new ListTablesCommand({}));',
      '  console.log(JSON.stringify({ ok: true, tables: out.TableNames }));',
      '} catch (error) {',
      '  console.log(JSON.stringify({ ok: false, name: error.name, message: error.message }));',
      '}',
    ].join('\n');
    const { entryPoints: _entry, ...options } = lambdaBuildOptions('', probe);
    await build({ ...options, stdin: { contents, resolveDir: ROOT, loader: 'ts' } });
  }, 60_000);
  afterAll(() => dynamo?.close());

  async function runProbe(env: Record<string, string>): Promise<Record<string, unknown>> {
    // A bare environment and an empty home: no profile, config file or SSO cache to fall back on.
    const { stdout } = await run(process.execPath, [probe], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: workdir,
        AWS_REGION: 'eu-west-1',
        PROBE_ENDPOINT: dynamo.endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      },
    });
    return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  }

  it('signs with the credentials Lambda puts in the environment', async () => {
    const result = await runProbe({
      AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
      AWS_SECRET_ACCESS_KEY: 'local-secret',
      AWS_SESSION_TOKEN: 'local-session',
    });
    expect(result).toEqual({ ok: true, tables: [] });
  });

  it('fails on missing credentials with the environment provider, not the whole chain', async () => {
    const result = await runProbe({});
    expect(result.ok).toBe(false);
    expect(result.name).toBe('CredentialsProviderError');
    expect(result.message).toBe('Unable to find environment variable credentials.');
  });
});
