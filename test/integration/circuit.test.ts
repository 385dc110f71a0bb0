/**
 * The provider circuit across the fleet, through the real sync consumer: its module loads from
 * the environment, reads the provider secret from a Secrets Manager endpoint, syncs accounts on
 * dynalite against the MoMo simulator and takes its records from local SQS. Halfway through the
 * fleet the simulator rejects our credentials; the test proves invariant 3 of ARCHITECTURE.md
 * (no user hears about a platform failure) and that the fleet resumes once they are fixed.
 */
import {
  type ChangeMessageVisibilityCommandInput,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { DynamoCircuitStore } from '../../adapters/dynamodb/circuit';
import { DynamoSyncRunStore } from '../../adapters/dynamodb/sync-runs';
import { serializeSyncMessage } from '../../adapters/sqs/sync-queue';
import { DEFAULT_CIRCUIT_CONFIG } from '../../core/circuit';
import type { Account } from '../../core/model';
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  dlqEnv,
  MANUAL_QUEUE,
  NOTIFY_QUEUE,
  SYNC_QUEUE,
  SYNC_RUNS_TABLE,
  TRANSACTIONS_TABLE,
} from '../../lib/resources';
import { PROVIDER_ENV } from '../../lib/settings';
import { type RunningSecrets, startSecretsEndpoint } from '../../local/engines/secrets';
import { createQueues, type LocalQueue, queueDepth } from '../../local/engines/sqs';
import { type MomoSimulator, startMomoSimulator } from '../../local/momo-sim';
import { createContext, toRecord } from '../../local/poller';
import { startTestSqs, type TestSqs } from '../local/sqs-fixture';
import { accountFactory, startTestDynamo, type TestDynamo } from '../support/dynamo';
import { recordVisibilityChanges } from '../support/visibility';

const SECRET_NAME = 'momo-sync/provider';
const FLEET = 6;

let dynamo: TestDynamo;
let sqs: TestSqs;
let secrets: RunningSecrets;
let sim: MomoSimulator;
let queues: Record<string, LocalQueue>;
let accounts: DynamoAccountStore;
let circuit: DynamoCircuitStore;
let handler: (event: SQSEvent, context: ReturnType<typeof createContext>) => Promise<unknown>;
let visibilityChanges: ChangeMessageVisibilityCommandInput[] = [];
const fleet: Account[] = [];
const output: string[] = [];

beforeAll(async () => {
  [dynamo, sqs] = await Promise.all([startTestDynamo('circuit-fleet'), startTestSqs()]);
  sim = await startMomoSimulator({
    apiUser: 'api-user',
    apiKey: 'api-key',
    subscriptionKey: 'subscription-key',
    seed: 'circuit',
  });
  secrets = await startSecretsEndpoint({
    secrets: { [SECRET_NAME]: JSON.stringify(sim.credentials) },
  });
  queues = await createQueues(sqs.client, [SYNC_QUEUE, MANUAL_QUEUE, NOTIFY_QUEUE], {
    consumerTimeoutSeconds: 30,
    nameOf: (def) => `circuit-${def.name}`,
  });
  accounts = new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts);
  circuit = new DynamoCircuitStore(dynamo.doc, dynamo.tables.control);
  for (let i = 0; i < FLEET; i += 1) {
    const walletId = sim.addWallet({ transactions: 5, historyDays: 10 });
    const account = accountFactory({ walletId, dueAt: new Date().toISOString() });
    await accounts.create(account);
    fleet.push(account);
  }
  // One wallet's own link is revoked too: during the outage it must not look like an account
  // auth failure, afterwards it must.
  sim.revokeLink(fleet.at(-1)!.walletId);

  const env: Record<string, string> = {
    [ACCOUNTS_TABLE.env]: dynamo.tables.accounts,
    [TRANSACTIONS_TABLE.env]: dynamo.tables.transactions,
    [SYNC_RUNS_TABLE.env]: dynamo.tables.syncRuns,
    [CONTROL_TABLE.env]: dynamo.tables.control,
    [PROVIDER_ENV.baseUrl]: sim.url,
    [PROVIDER_ENV.targetEnvironment]: sim.credentials.targetEnvironment,
    [PROVIDER_ENV.secretId]: SECRET_NAME,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.engine.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    POWERTOOLS_SERVICE_NAME: 'sync-account',
    POWERTOOLS_METRICS_NAMESPACE: 'MomoSync',
  };
  for (const def of [SYNC_QUEUE, MANUAL_QUEUE, NOTIFY_QUEUE]) {
    env[def.env] = queues[def.name]!.url;
    env[dlqEnv(def)] = queues[def.name]!.dlqUrl;
  }
  Object.assign(process.env, env);
  visibilityChanges = recordVisibilityChanges();
  // The consumer's EMF lines, for the CircuitOpen metric.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => {
    output.push(String(chunk));
    return true;
  });
  ({ handler } = await import('../../lambdas/sync-account/index'));
});

afterAll(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await Promise.all([sim?.close(), secrets?.close(), sqs?.close(), dynamo?.close()]);
});

/** Queues a scheduled sync per account and receives them back as one batch of records. */
async function queuedSyncs(batch: Account[]): Promise<SQSRecord[]> {
  const sync = queues.sync!;
  await sqs.client.send(
    new SendMessageBatchCommand({
      QueueUrl: sync.url,
      Entries: batch.map((account, i) => ({
        Id: String(i),
        MessageBody: serializeSyncMessage({
          accountId: account.accountId,
          trigger: 'manual',
          runId: 'run-circuit',
        }),
      })),
    }),
  );
  const records: SQSRecord[] = [];
  while (records.length < batch.length) {
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: sync.url,
        MaxNumberOfMessages: 10,
        AttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    records.push(...Messages.map((message) => toRecord(message, sync.arn, 'us-east-1')));
  }
  return records;
}

async function consume(records: SQSRecord[]): Promise<string[]> {
  const response = (await handler(
    { Records: records },
    createContext('sync-account', 30_000, 'us-east-1'),
  )) as SQSBatchResponse;
  return response.batchItemFailures.map((failure) => failure.itemIdentifier);
}

const providerRequests = () =>
  Object.values(sim.stats().requests).reduce((sum, count) => sum + count, 0);

async function fleetState() {
  const all = await Promise.all(fleet.map((a) => accounts.get(a.accountId, true)));
  return {
    authRequired: all.filter((a) => a?.syncStatus === 'auth_required').length,
    synced: all.filter((a) => a?.lastSyncedAt !== undefined).length,
    failures: all.reduce((sum, a) => sum + (a?.consecutiveFailures ?? 0), 0),
  };
}

describe('provider circuit across the fleet', () => {
  const firstHalf = () => fleet.slice(0, FLEET / 2);
  const secondHalf = () => fleet.slice(FLEET / 2);
  let held: SQSRecord[] = [];

  it('syncs while the credentials work', async () => {
    const failed = await consume(await queuedSyncs(firstHalf()));

    expect(failed).toEqual([]);
    expect((await fleetState()).synced).toBe(FLEET / 2);
    expect((await circuit.read()).status).toBe('closed');
  });

  it('opens on a platform failure and hands the whole batch back until the reopen time', async () => {
    sim.setPlatformAuthFailure(true);
    held = await queuedSyncs(secondHalf());
    const before = Date.now();

    const failed = await consume(held);

    const state = await circuit.read();
    expect(state).toMatchObject({ status: 'open', trips: 1 });
    expect(failed.sort()).toEqual(held.map((r) => r.messageId).sort());
    const reopenIn = (Date.parse(state.reopenAt!) - before) / 1000;
    for (const record of held) {
      const change = visibilityChanges.find((c) => c.ReceiptHandle === record.receiptHandle);
      expect(change?.VisibilityTimeout).toBeGreaterThan(reopenIn - 5);
      expect(change?.VisibilityTimeout).toBeLessThanOrEqual(Math.ceil(reopenIn));
    }
  });

  it('tried the provider for one account only, marked none auth_required and told nobody', async () => {
    const runs = new DynamoSyncRunStore(dynamo.doc, dynamo.tables.syncRuns);
    const outcomes = [];
    for (const account of secondHalf()) {
      const page = await runs.listByAccount(account.accountId, { limit: 10 });
      outcomes.push(...page.items.map((run) => run.outcome));
    }

    expect(outcomes).toEqual(['platform_auth_error']);
    expect(await fleetState()).toMatchObject({ authRequired: 0, failures: 0 });
    expect(await queueDepth(sqs.client, queues.notify!.url)).toMatchObject({ visible: 0 });
  });

  it('calls the provider for nothing while the circuit is open', async () => {
    const before = providerRequests();

    const failed = await consume(held);

    expect(failed).toHaveLength(held.length);
    expect(providerRequests()).toBe(before);
  });

  it('resumes the fleet once the credentials are fixed and the reopen time has passed', async () => {
    sim.setPlatformAuthFailure(false);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + DEFAULT_CIRCUIT_CONFIG.openMs + 1 });

    const failed = await consume(held);

    expect(failed).toEqual([]);
    expect((await circuit.read()).status).toBe('closed');
    // The revoked wallet now gets its own episode and its one push request, as it should.
    expect(await fleetState()).toMatchObject({ synced: FLEET - 1, authRequired: 1, failures: 0 });
    expect(await queueDepth(sqs.client, queues.notify!.url)).toMatchObject({ visible: 1 });
  });

  it('reports CircuitOpen batch by batch', () => {
    const values = output
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"CircuitOpen"'))
      .map((line) => (JSON.parse(line) as { CircuitOpen: number }).CircuitOpen);

    expect(values).toEqual([0, 1, 1, 0]);
  });
});
