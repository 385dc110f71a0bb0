/**
 * The operator commands against real local engines: dynalite, local-aws-sqs and the local
 * Lambda Invoke endpoint, found through a state file like the one `npm start` writes, exactly
 * as `npm run ops -- <command> --local` finds them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { FLEET_SETTINGS_KEY } from '../../adapters/dynamodb/fleet-settings';
import { DynamoSyncRunStore } from '../../adapters/dynamodb/sync-runs';
import { QUEUES } from '../../lib/resources';
import { type RunningLocalLambda, startLocalLambda } from '../../local/engines/lambda';
import {
  createQueues,
  type LocalQueue,
  localSqsClient,
  queueDepth,
  type RunningSqs,
  startLocalSqs,
} from '../../local/engines/sqs';
import { ENDPOINTS_FILE_ENV, writeLocalEndpoints } from '../../local/operators';
import { runCli } from '../../ops/cli';
import {
  accountFactory,
  startTestDynamo,
  syncRunFactory,
  type TestDynamo,
} from '../support/dynamo';

const FAN_OUT = 'momo-sync-fan-out';

let dynamo: TestDynamo;
let sqsEngine: RunningSqs;
let sqs: SQSClient;
let queues: Record<string, LocalQueue>;
let lambda: RunningLocalLambda;
let stateDir: string;
const fanOutEvents: unknown[] = [];

let stateFile: string;
let generation = 0;

/** Creates a fresh set of queues and points the state file at them (a purge waits 60 s). */
async function freshQueues() {
  generation += 1;
  queues = await createQueues(sqs, QUEUES, {
    nameOf: (def) => `ops-${generation}-${def.localName}`,
  });
  await writeLocalEndpoints(stateFile, {
    region: 'us-east-1',
    dynamodb: dynamo.endpoint,
    sqs: sqsEngine.endpoint,
    lambda: lambda.endpoint,
    tables: {
      accounts: dynamo.tables.accounts,
      syncRuns: dynamo.tables.syncRuns,
      control: dynamo.tables.control,
    },
    queues: Object.fromEntries(
      Object.entries(queues).map(([name, queue]) => [
        name,
        { url: queue.url, dlqUrl: queue.dlqUrl },
      ]),
    ),
    functions: { fanOut: FAN_OUT },
    pid: process.pid,
  });
}

beforeAll(async () => {
  dynamo = await startTestDynamo('ops');
  sqsEngine = await startLocalSqs();
  sqs = localSqsClient(sqsEngine.endpoint);
  lambda = await startLocalLambda({
    functions: {
      [FAN_OUT]: async (event) => {
        fanOutEvents.push(event);
      },
    },
  });
  stateDir = await mkdtemp(join(tmpdir(), 'momo-ops-'));
  stateFile = join(stateDir, 'endpoints.json');
  await freshQueues();
  process.env[ENDPOINTS_FILE_ENV] = stateFile;
});

afterAll(async () => {
  delete process.env[ENDPOINTS_FILE_ENV];
  sqs.destroy();
  await lambda.close();
  await sqsEngine.close();
  await dynamo.close();
  await rm(stateDir, { recursive: true, force: true });
});

/** Runs `npm run ops -- <argv> --local` with captured output. */
async function ops(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...argv, '--local'], {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    now: () => new Date('2026-03-01T08:15:30.250Z'),
  });
  return { code, out: out.join(''), err: err.join('') };
}

/** A dead letter as the consumer writes one: the sync message with its reason. */
const deadLetter = (n: number, reason: string) => ({
  Id: String(n),
  MessageBody: JSON.stringify({ accountId: `acc-${n}`, trigger: 'schedule', runId: 'run-1' }),
  MessageAttributes: {
    reason: { DataType: 'String', StringValue: reason },
    sourceMessageId: { DataType: 'String', StringValue: `source-${n}` },
  },
});

const REASONS = [
  'permanent:RESOURCE_NOT_FOUND',
  'retries_exhausted:transient:TIMEOUT',
  'invalid_body:not_json',
];

async function receiveAll(url: string) {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageAttributeNames: ['All'],
    }),
  );
  return Messages;
}

describe('ops redrive --local', () => {
  const sync = () => queues.sync as LocalQueue;

  beforeEach(async () => {
    await freshQueues();
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: sync().dlqUrl,
        Entries: REASONS.map((reason, i) => deadLetter(i + 1, reason)),
      }),
    );
  });

  it('lists what a dry run would move, with each reason and receive count, and moves nothing', async () => {
    // Act
    const result = await ops('redrive', '--queue', 'sync', '--dry-run');

    // Assert
    expect(result.code).toBe(0);
    expect(result.out).toContain('would move 3 message(s) from the sync DLQ to the sync queue');
    // Each listed with the receive count the DLQ reports (the dry run's own receive).
    for (const reason of REASONS) expect(result.out).toMatch(new RegExp(` 1 {2}${reason}`));
    expect(result.out).toMatch(/message id\s+receives\s+reason/);
    expect(result.out).toContain('dry run: nothing was moved');
    expect(await queueDepth(sqs, sync().url)).toMatchObject({ visible: 0 });
    // Released at once: every message can be read from the DLQ again right away.
    expect(await receiveAll(sync().dlqUrl)).toHaveLength(3);
  });

  it('moves every message back with its body and attributes, and empties the DLQ', async () => {
    const result = await ops('redrive', '--queue', 'sync');

    expect(result.code).toBe(0);
    expect(result.out).toContain('moved 3 message(s) from the sync DLQ to the sync queue');
    const moved = await receiveAll(sync().url);
    expect(moved.map((message) => JSON.parse(message.Body ?? '').accountId).sort()).toEqual([
      'acc-1',
      'acc-2',
      'acc-3',
    ]);
    expect(moved.map((message) => message.MessageAttributes?.reason?.StringValue).sort()).toEqual(
      [...REASONS].sort(),
    );
    expect(
      moved.map((message) => message.MessageAttributes?.sourceMessageId?.StringValue),
    ).toContain('source-2');
    expect(await queueDepth(sqs, sync().dlqUrl)).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('moves at most --max messages and leaves the rest in the DLQ', async () => {
    const result = await ops('redrive', '--queue', 'sync', '--max', '2');

    expect(result.code).toBe(0);
    expect(result.out).toContain('moved 2 message(s)');
    expect(await receiveAll(sync().url)).toHaveLength(2);
    expect(await receiveAll(sync().dlqUrl)).toHaveLength(1);
  });

  it('says so when the DLQ is empty', async () => {
    const result = await ops('redrive', '--queue', 'manual');

    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^the manual DLQ in the local stack \(pid \d+\) is empty: nothing/);
  });

  it('refuses an unknown queue and leaves every queue as it was', async () => {
    const result = await ops('redrive', '--queue', 'synch');

    expect(result.code).toBe(2);
    expect(result.err).toContain('unknown queue "synch": use one of sync, manual, fanout, notify');
    expect(await queueDepth(sqs, sync().dlqUrl)).toMatchObject({ visible: 3 });
  });
});

describe('ops frequency --local', () => {
  it('sets and clears an account’s override, leaving the owner’s own setting alone', async () => {
    const store = new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts);
    const account = accountFactory({ syncIntervalMinutes: 360 });
    await store.create(account);

    const set = await ops('frequency', '--account', account.accountId, '--minutes', '720');
    const afterSet = await store.get(account.accountId, true);
    const shown = await ops('account', '--id', account.accountId);
    const cleared = await ops('frequency', '--account', account.accountId, '--clear');
    const afterClear = await store.get(account.accountId, true);

    expect([set.code, cleared.code]).toEqual([0, 0]);
    expect(set.out).toContain('sync interval set to 720 minutes');
    expect(afterSet).toMatchObject({ operatorIntervalMinutes: 720, syncIntervalMinutes: 360 });
    expect(shown.out).toContain('interval          720 minutes (operator override)');
    expect(afterClear?.operatorIntervalMinutes).toBeUndefined();
    expect(afterClear?.syncIntervalMinutes).toBe(360);
  });

  it('fails with exit 1 for an account that does not exist, creating none', async () => {
    const result = await ops('frequency', '--account', 'acc-missing', '--minutes', '720');

    expect(result.code).toBe(1);
    expect(result.out).toContain('no account acc-missing');
    expect(
      await new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts).get('acc-missing'),
    ).toBeUndefined();
  });

  it('sets and clears the fleet interval in the control table', async () => {
    const fleetItem = async () =>
      (
        await dynamo.doc.send(
          new GetCommand({ TableName: dynamo.tables.control, Key: { pk: FLEET_SETTINGS_KEY } }),
        )
      ).Item;

    const set = await ops('frequency', '--fleet', '--minutes', '2880');
    const afterSet = await fleetItem();
    await ops('frequency', '--fleet', '--clear');
    const afterClear = await fleetItem();

    expect(set.code).toBe(0);
    expect(afterSet).toMatchObject({ syncIntervalMinutes: 2880, updatedBy: 'ops-cli' });
    expect(afterClear?.syncIntervalMinutes).toBeUndefined();
  });

  it('stores nothing when the interval is out of bounds', async () => {
    await ops('frequency', '--fleet', '--clear');

    const result = await ops('frequency', '--fleet', '--minutes', '20000');

    expect(result.code).toBe(2);
    const { Item } = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tables.control, Key: { pk: FLEET_SETTINGS_KEY } }),
    );
    expect(Item?.syncIntervalMinutes).toBeUndefined();
  });
});

describe('ops account --local', () => {
  it('shows the sync state, the effective interval and the recent runs, newest first', async () => {
    const account = accountFactory({
      syncStatus: 'auth_required',
      lastErrorCode: 'account_auth:LINK_EXPIRED',
      consecutiveFailures: 0,
      syncIntervalMinutes: 360,
      reauth: { episode: 2, openedAt: '2026-03-01T06:00:00.000Z', notifyResult: 'sent' },
    });
    await new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts).create(account);
    const runs = new DynamoSyncRunStore(dynamo.doc, dynamo.tables.syncRuns);
    await runs.record(
      syncRunFactory({ accountId: account.accountId, startedAt: '2026-03-01T05:00:00.000Z' }),
    );
    await runs.record(
      syncRunFactory({
        accountId: account.accountId,
        startedAt: '2026-03-01T06:00:00.000Z',
        outcome: 'auth_required',
        errorCode: 'account_auth:LINK_EXPIRED',
      }),
    );

    const result = await ops('account', '--id', account.accountId);

    expect(result.code).toBe(0);
    expect(result.out).toContain('status            auth_required');
    expect(result.out).toContain('last error        account_auth:LINK_EXPIRED');
    expect(result.out).toContain('episode 2 opened 2026-03-01T06:00:00.000Z, open, push sent');
    expect(result.out).toContain('interval          360 minutes (owner setting)');
    const runLines = result.out.split('\n').filter((line) => /^ {2}2026-/.test(line));
    expect(runLines).toHaveLength(2);
    expect(runLines[0]).toContain('auth_required');
    expect(result.out).not.toContain(account.name);
  });

  it('prints one JSON document with --json', async () => {
    const account = accountFactory({ activityScore: 0.02 });
    await new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts).create(account);

    const result = await ops('account', '--id', account.accountId, '--json');

    const document = JSON.parse(result.out);
    expect(document.account).toMatchObject({ accountId: account.accountId, syncStatus: 'active' });
    expect(document.account.name).toBeUndefined();
    expect(document.interval).toEqual({ minutes: 2880, source: 'adaptive' });
    expect(document.runs).toEqual([]);
  });

  it('fails with exit 1 for an account that does not exist', async () => {
    const result = await ops('account', '--id', 'acc-nobody');

    expect(result.code).toBe(1);
    expect(result.out).toContain('no account acc-nobody in the local stack');
  });
});

describe('ops fan-out --local', () => {
  it('invokes the fan-out asynchronously with the scheduler’s event, stamped to the second', async () => {
    fanOutEvents.length = 0;

    const result = await ops('fan-out');
    await lambda.settled();

    expect(result.code).toBe(0);
    expect(result.out).toContain(
      `fan-out started in the local stack (pid ${process.pid}): run 2026-03-01T08:15:30Z`,
    );
    expect(fanOutEvents).toEqual([
      { source: 'momo-sync.ops', scheduledTime: '2026-03-01T08:15:30Z' },
    ]);
  });

  it('retries the run of a given time with --time', async () => {
    fanOutEvents.length = 0;

    await ops('fan-out', '--time', '2026-02-28T02:00:00Z');
    await lambda.settled();

    expect(fanOutEvents).toEqual([
      { source: 'momo-sync.ops', scheduledTime: '2026-02-28T02:00:00Z' },
    ]);
  });
});

describe('ops --local without a running stack', () => {
  it('fails with exit 1 and says to start one', async () => {
    const saved = process.env[ENDPOINTS_FILE_ENV];
    process.env[ENDPOINTS_FILE_ENV] = join(stateDir, 'absent.json');
    try {
      const result = await ops('redrive', '--queue', 'sync', '--dry-run');

      expect(result.code).toBe(1);
      expect(result.err).toContain('start one with npm start');
    } finally {
      process.env[ENDPOINTS_FILE_ENV] = saved;
    }
  });
});
