import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exposeToOperators,
  type LocalEndpointsFile,
  LocalStackNotRunningError,
  readLocalEndpoints,
} from '../../local/operators';
import type { LocalStack } from '../../local/stack';

let dir: string;
const events: unknown[] = [];

/** The parts of a running local stack that operators are shown. */
const stack = {
  region: 'us-east-1',
  endpoints: { dynamodb: 'http://127.0.0.1:1', sqs: 'http://127.0.0.1:2' },
  tables: {
    accounts: 'momo-sync-accounts',
    transactions: 'momo-sync-transactions',
    syncRuns: 'momo-sync-sync-runs',
    control: 'momo-sync-control',
    idempotency: 'momo-sync-idempotency',
  },
  queues: {
    sync: {
      url: 'http://127.0.0.1:2/1/momo-sync-sync',
      dlqUrl: 'http://127.0.0.1:2/1/momo-sync-sync-dlq',
    },
  },
  handlers: {
    fanOut: [
      async (event: unknown, context: { functionName: string }) => {
        events.push({ event, functionName: context.functionName });
        return { planned: true };
      },
    ],
  },
} as unknown as LocalStack;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'momo-operators-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

describe('exposeToOperators', () => {
  it('writes the endpoints, tables and queues the CLI needs, and removes them on close', async () => {
    const file = join(dir, 'endpoints.json');

    const exposed = await exposeToOperators(stack, { file });
    const written = await readLocalEndpoints(file);
    await exposed.close();

    expect(written).toEqual<LocalEndpointsFile>({
      region: 'us-east-1',
      dynamodb: 'http://127.0.0.1:1',
      sqs: 'http://127.0.0.1:2',
      lambda: exposed.lambdaEndpoint,
      tables: {
        accounts: 'momo-sync-accounts',
        syncRuns: 'momo-sync-sync-runs',
        control: 'momo-sync-control',
      },
      queues: {
        sync: {
          url: 'http://127.0.0.1:2/1/momo-sync-sync',
          dlqUrl: 'http://127.0.0.1:2/1/momo-sync-sync-dlq',
        },
      },
      functions: { fanOut: 'momo-sync-fan-out' },
      pid: process.pid,
    });
    expect(await exists(file)).toBe(false);
  });

  it('hands an invocation to the stack’s fan-out handler with a fan-out context', async () => {
    const exposed = await exposeToOperators(stack, { file: null });
    const client = new LambdaClient({
      endpoint: exposed.lambdaEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });

    const response = await client.send(
      new InvokeCommand({
        FunctionName: 'momo-sync-fan-out',
        Payload: new TextEncoder().encode(
          JSON.stringify({ scheduledTime: '2026-03-01T02:00:00Z' }),
        ),
      }),
    );
    client.destroy();
    await exposed.close();

    expect(response.StatusCode).toBe(200);
    expect(events).toEqual([
      { event: { scheduledTime: '2026-03-01T02:00:00Z' }, functionName: 'momo-sync-fan-out' },
    ]);
  });

  it('leaves the file alone on close when a later stack has written its own', async () => {
    const file = join(dir, 'shared.json');
    const exposed = await exposeToOperators(stack, { file });
    const later = JSON.stringify({ ...(await readLocalEndpoints(file)), pid: process.pid + 1 });
    await writeFile(file, later);

    await exposed.close();

    expect(await readFile(file, 'utf8')).toBe(later);
  });
});

describe('exposeToOperators with a file already there', () => {
  const heldBy = async (pid: number) => {
    const file = join(dir, `held-${pid}.json`);
    const exposed = await exposeToOperators(stack, { file: null });
    const theirs = JSON.stringify({ ...(await readFileFrom(exposed)), pid });
    await exposed.close();
    await writeFile(file, theirs);
    return { file, theirs };
  };
  const readFileFrom = async (exposed: { lambdaEndpoint: string }) => ({
    region: 'us-east-1',
    dynamodb: 'http://127.0.0.1:9',
    sqs: 'http://127.0.0.1:9',
    lambda: exposed.lambdaEndpoint,
  });

  it('leaves a file a live stack holds alone, and says whose it is', async () => {
    const { file, theirs } = await heldBy(process.ppid);

    const exposed = await exposeToOperators(stack, { file });
    await exposed.close();

    expect(exposed.file).toBeNull();
    expect(exposed.heldBy).toBe(process.ppid);
    expect(await readFile(file, 'utf8')).toBe(theirs);
  });

  it('takes over a file whose stack is gone', async () => {
    const gone = 2 ** 22 + 17;
    const { file } = await heldBy(gone);

    const exposed = await exposeToOperators(stack, { file });
    const written = await readLocalEndpoints(file);
    await exposed.close();

    expect(exposed.file).toBe(file);
    expect(written.pid).toBe(process.pid);
  });
});

describe('readLocalEndpoints', () => {
  it.each([
    ['absent', undefined],
    ['not JSON', 'port 4000'],
    ['without endpoints', '{"region":"us-east-1"}'],
  ])('says the stack is not running when the file is %s', async (_label, content) => {
    const file = join(dir, `broken-${_label.replaceAll(' ', '-')}.json`);
    if (content !== undefined) await writeFile(file, content);

    await expect(readLocalEndpoints(file)).rejects.toBeInstanceOf(LocalStackNotRunningError);
  });
});
