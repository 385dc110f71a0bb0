/**
 * The notifier Lambda as deployed: its module loads from the environment, reads the OneSignal key
 * from a Secrets Manager endpoint, reads and marks accounts on dynalite, takes its records from
 * local SQS and sends through the SDK to the OneSignal stub. The sync engine queues the requests.
 */
import {
  type ChangeMessageVisibilityCommandInput,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { DynamoSyncRunStore } from '../../adapters/dynamodb/sync-runs';
import { DynamoTransactionStore } from '../../adapters/dynamodb/transactions';
import { SqsNotifier } from '../../adapters/sqs/notify-queue';
import type { Account, RelinkRequest } from '../../core/model';
import type { AccountLeases } from '../../core/ports';
import { relinkIdempotencyKey } from '../../core/relink-push';
import { DEFAULT_SYNC_CONFIG, type SyncDeps, syncAccount } from '../../core/sync-engine';
import { ACCOUNTS_TABLE, dlqEnv, NOTIFY_QUEUE } from '../../lib/resources';
import { NOTIFIER_ENV } from '../../lib/settings';
import { type RunningSecrets, startSecretsEndpoint } from '../../local/engines/secrets';
import { createQueues, type LocalQueue } from '../../local/engines/sqs';
import { type RunningOneSignalStub, startOneSignalStub } from '../../local/onesignal-stub';
import { createContext, toRecord } from '../../local/poller';
import { startTestSqs, type TestSqs } from '../local/sqs-fixture';
import { accountFactory, startTestDynamo, type TestDynamo } from '../support/dynamo';
import { ListProvider, ManualClock, providerError } from '../support/in-memory';
import { recordVisibilityChanges } from '../support/visibility';

const APP_ID = '5eb5a37e-b458-11e3-ac11-000c2940e62c';
const API_KEY = 'os_v2_app_k3y-that-must-never-be-logged';
const SECRET_NAME = 'momo-sync/onesignal';
const OWNER = 'owner-with-phone';
const DAY = 24 * 3600 * 1000;

let dynamo: TestDynamo;
let sqs: TestSqs;
let queue: LocalQueue;
let secrets: RunningSecrets;
let stub: RunningOneSignalStub;
let stubNow = new Date('2026-03-10T02:00:00.000Z');
let store: DynamoAccountStore;
let handler: (event: SQSEvent, context: ReturnType<typeof createContext>) => Promise<unknown>;
const output: string[] = [];
let visibilityChanges: ChangeMessageVisibilityCommandInput[] = [];

beforeAll(async () => {
  [dynamo, sqs, secrets] = await Promise.all([
    startTestDynamo('notifier'),
    startTestSqs(),
    startSecretsEndpoint({ secrets: { [SECRET_NAME]: JSON.stringify({ restApiKey: API_KEY }) } }),
  ]);
  stub = await startOneSignalStub({
    appId: APP_ID,
    apiKey: API_KEY,
    externalIdsWithDevices: [OWNER],
    now: () => stubNow,
  });
  const created = await createQueues(sqs.client, [NOTIFY_QUEUE], {
    consumerTimeoutSeconds: 30,
    nameOf: () => 'notifier-test-notify',
  });
  queue = created[NOTIFY_QUEUE.name]!;
  store = new DynamoAccountStore(dynamo.doc, dynamo.tables.accounts);

  Object.assign(process.env, {
    [ACCOUNTS_TABLE.env]: dynamo.tables.accounts,
    [NOTIFY_QUEUE.env]: queue.url,
    [dlqEnv(NOTIFY_QUEUE)]: queue.dlqUrl,
    [NOTIFIER_ENV.appId]: APP_ID,
    [NOTIFIER_ENV.appScheme]: 'momofinance',
    [NOTIFIER_ENV.secretId]: SECRET_NAME,
    [NOTIFIER_ENV.apiUrl]: stub.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.engine.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    POWERTOOLS_SERVICE_NAME: 'notifier',
    POWERTOOLS_METRICS_NAMESPACE: 'MomoSync',
  });
  // Everything the function writes to stdout or stderr: its logs and its EMF metrics.
  const capture = (chunk: unknown) => {
    output.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  visibilityChanges = recordVisibilityChanges();
  ({ handler } = await import('../../lambdas/notifier/index'));
});

afterAll(async () => {
  vi.restoreAllMocks();
  await Promise.all([stub?.close(), secrets?.close(), sqs?.close(), dynamo?.close()]);
});

/** An account in an open re-auth episode, as the engine leaves it. */
async function accountInEpisode(overrides: Partial<Account> = {}): Promise<Account> {
  const account = accountFactory({
    ownerId: OWNER,
    syncStatus: 'auth_required',
    reauth: { episode: 1, openedAt: '2026-03-10T01:00:00.000Z' },
    ...overrides,
  });
  await store.create(account);
  return account;
}

const requestFor = (account: Account, overrides: Partial<RelinkRequest> = {}): RelinkRequest => ({
  accountId: account.accountId,
  ownerId: account.ownerId,
  episode: account.reauth?.episode ?? 1,
  reason: 'link_expired',
  ...overrides,
});

/** Queues requests the way the engine does and receives them back as Lambda records. */
async function queued(...requests: RelinkRequest[]): Promise<SQSRecord[]> {
  const notifier = new SqsNotifier(sqs.client, queue.url);
  for (const request of requests) await notifier.requestRelink(request);
  return receive(queue.url, requests.length);
}

async function receive(url: string, count: number, arn = queue.arn): Promise<SQSRecord[]> {
  const records: SQSRecord[] = [];
  for (let attempt = 0; attempt < 20 && records.length < count; attempt += 1) {
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    records.push(...Messages.map((message) => toRecord(message, arn, 'us-east-1')));
  }
  return records;
}

async function deliver(...records: SQSRecord[]): Promise<string[]> {
  const response = (await handler(
    { Records: records },
    createContext('notifier', 30_000, 'us-east-1'),
  )) as SQSBatchResponse;
  return response.batchItemFailures.map((failure) => failure.itemIdentifier);
}

let syncs = 0;

/** The sync engine on dynalite, queueing its re-link requests on the notify queue. */
function engineFor(provider: ListProvider, leases: AccountLeases = store) {
  const clock = new ManualClock(new Date('2026-03-10T02:00:00.000Z'));
  const deps: SyncDeps = {
    accounts: leases,
    transactions: new DynamoTransactionStore(dynamo.doc, dynamo.tables.transactions),
    runs: new DynamoSyncRunStore(dynamo.doc, dynamo.tables.syncRuns),
    provider,
    notifier: new SqsNotifier(sqs.client, queue.url),
    clock,
  };
  return {
    clock,
    sync(accountId: string) {
      syncs += 1;
      return syncAccount(
        deps,
        {
          accountId,
          trigger: 'manual',
          runId: `run-${syncs}`,
          leaseOwner: `owner-${syncs}`,
          remainingTimeMs: () => 60_000,
        },
        DEFAULT_SYNC_CONFIG,
      );
    },
  };
}

const pushesFor = (account: Account) =>
  stub.pushes().filter((push) => push.data?.accountId === account.accountId);

describe('notifier', () => {
  it('gives one push per episode with the request delivered three times and two failing syncs', async () => {
    const account = accountFactory({ ownerId: OWNER, dueAt: '2026-03-10T00:00:00.000Z' });
    await store.create(account);
    const provider = new ListProvider();
    provider.failures.push(
      providerError('account_auth', 'LINK_EXPIRED'),
      providerError('account_auth', 'LINK_EXPIRED'),
    );
    // The first sync loses its account write after queueing the request, so the second one
    // opens the same episode again and queues a second request for it.
    let dropRelease = true;
    const leases: AccountLeases = {
      acquireLease: (request) => store.acquireLease(request),
      checkpoint: (...args) => store.checkpoint(...args),
      release: async (...args) => {
        if (dropRelease) {
          dropRelease = false;
          throw new Error('release lost');
        }
        return store.release(...args);
      },
    };
    const engine = engineFor(provider, leases);
    const sync = () => engine.sync(account.accountId);
    await sync();
    engine.clock.advance(DEFAULT_SYNC_CONFIG.leaseMs + 1);
    await sync();
    const [first, second] = await receive(queue.url, 2);

    const failures = [
      ...(await deliver(first!, second!)),
      ...(await deliver(first!)),
      ...(await deliver(first!)),
    ];
    stubNow = new Date(stubNow.getTime() + 31 * DAY);
    failures.push(...(await deliver(second!)));

    expect(failures).toEqual([]);
    expect(pushesFor(account)).toHaveLength(1);
    expect((await store.get(account.accountId, true))?.reauth).toMatchObject({
      episode: 1,
      notifyResult: 'sent',
      notifiedAt: expect.any(String),
    });
  });

  it('sends the deep link, the data and the text in English and French', async () => {
    const account = await accountInEpisode({
      reauth: { episode: 4, openedAt: '2026-03-10T01:00:00.000Z' },
    });

    await deliver(...(await queued(requestFor(account, { reason: 'link_revoked' }))));

    const [push] = pushesFor(account);
    expect(push).toMatchObject({
      externalIds: [OWNER],
      appUrl: `momofinance://accounts/${account.accountId}/relink`,
      data: { accountId: account.accountId, reason: 'link_revoked', episode: 4 },
      idempotencyKey: relinkIdempotencyKey(account.accountId, 4),
    });
    expect(Object.keys(push?.headings ?? {})).toEqual(['en', 'fr']);
    expect(Object.keys(push?.contents ?? {})).toEqual(['en', 'fr']);
  });

  it.each([
    ['a 429', { status: 429, retryAfterSeconds: 37 } as const, 37],
    ['a 503', { status: 503 } as const, 100],
  ])(
    'hands the request back on %s and sends it on the next delivery',
    async (_case, failure, delay) => {
      const account = await accountInEpisode();
      const [record] = await queued(requestFor(account));
      stub.failNext(1, failure);

      const failed = await deliver(record!);
      const retried = await deliver(record!);

      expect(failed).toEqual([record!.messageId]);
      expect(visibilityChanges.at(-1)).toMatchObject({
        ReceiptHandle: record!.receiptHandle,
        VisibilityTimeout: delay,
      });
      expect(retried).toEqual([]);
      expect(pushesFor(account)).toHaveLength(1);
    },
  );

  it('records a push with no recipients and does not retry it', async () => {
    const account = await accountInEpisode({ ownerId: 'owner-without-app' });
    const [record] = await queued(requestFor(account));

    const failed = [...(await deliver(record!)), ...(await deliver(record!))];

    expect(failed).toEqual([]);
    expect(stub.pushes().filter((p) => p.externalIds.includes('owner-without-app'))).toEqual([]);
    expect((await store.get(account.accountId, true))?.reauth?.notifyResult).toBe('no_recipients');
  });

  it('dead-letters a request OneSignal rejects with a 400, with its reason', async () => {
    const account = await accountInEpisode();
    const [record] = await queued(requestFor(account));
    stub.failNext(1, { status: 400, errors: ['Message Notifications must have English content'] });

    const failed = await deliver(record!);

    const [dead] = await receive(queue.dlqUrl, 1, queue.dlqArn);
    expect(failed).toEqual([]);
    expect(dead?.body).toBe(record!.body);
    expect(dead?.messageAttributes.reason?.stringValue).toBe('push_rejected:http_400');
    expect(dead?.messageAttributes.detail?.stringValue).toMatch(/English content/);
    expect((await store.get(account.accountId, true))?.reauth?.notifiedAt).toBeUndefined();
  });

  it('gives a second push when the episode closes and a new one opens', async () => {
    const account = await accountInEpisode();
    const [episodeOne] = await queued(requestFor(account));
    await deliver(episodeOne!);
    // The owner re-links (the API closes the episode), then the new link expires too.
    const notified = await store.get(account.accountId, true);
    await store.update(account.accountId, {
      syncStatus: 'active',
      reauth: { ...notified!.reauth!, closedAt: '2026-03-10T03:00:00.000Z' },
    });
    const provider = new ListProvider();
    provider.failures.push(providerError('account_auth', 'LINK_EXPIRED'));
    const result = await engineFor(provider).sync(account.accountId);
    const [episodeTwo] = await receive(queue.url, 1);

    await deliver(episodeTwo!, episodeOne!);

    expect(result.openedEpisode).toBe(2);
    expect(pushesFor(account).map((push) => push.data?.episode)).toEqual([1, 2]);
  });

  it.each([
    ['a closed episode', { closedAt: '2026-03-10T01:30:00.000Z' }, {}],
    ['an owner who opted out', {}, { relinkPushes: false }],
  ])('sends nothing for %s', async (_case, reauth, overrides) => {
    const account = await accountInEpisode({
      reauth: { episode: 1, openedAt: '2026-03-10T01:00:00.000Z', ...reauth },
      ...overrides,
    });

    const failed = await deliver(...(await queued(requestFor(account))));

    expect(failed).toEqual([]);
    expect(pushesFor(account)).toEqual([]);
  });

  it('waits for an episode the account does not show yet', async () => {
    const account = await accountInEpisode({ syncStatus: 'active', reauth: undefined });
    const [record] = await queued(requestFor(account));

    const failed = await deliver(record!);

    expect(failed).toEqual([record!.messageId]);
    expect(visibilityChanges.at(-1)).toMatchObject({ VisibilityTimeout: 20 });
    expect(pushesFor(account)).toEqual([]);
  });

  it('logs each record of a batch with its own account and message', async () => {
    const accounts = [await accountInEpisode(), await accountInEpisode()];
    const records = await queued(...accounts.map((account) => requestFor(account)));
    const from = output.length;

    await deliver(...records);

    const sent = output
      .slice(from)
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"push sent"'))
      .map((line) => JSON.parse(line) as { accountId?: string; messageId?: string });
    const pairs = (list: { accountId?: string; messageId?: string }[]) =>
      list.map(({ accountId, messageId }) => `${accountId}/${messageId}`).sort();
    expect(pairs(sent)).toEqual(
      pairs(
        records.map((r) => ({ accountId: JSON.parse(r.body).accountId, messageId: r.messageId })),
      ),
    );
  });

  it('dead-letters with its reason a request that kept failing before any push', async () => {
    // DynamoDB refuses a key this long: the account can never be read.
    const [record] = await queued({
      accountId: 'a'.repeat(2049),
      ownerId: OWNER,
      episode: 1,
      reason: 'link_expired',
    });
    const lastReceive: SQSRecord = {
      ...record!,
      attributes: {
        ...record!.attributes,
        ApproximateReceiveCount: String(NOTIFY_QUEUE.maxReceiveCount),
      },
    };

    const first = await deliver(record!);
    const last = await deliver(lastReceive);

    const dead = (await receive(queue.dlqUrl, 1, queue.dlqArn)).find(
      (r) => r.messageAttributes.sourceMessageId?.stringValue === record!.messageId,
    );
    expect(first).toEqual([record!.messageId]);
    expect(last).toEqual([]);
    expect(dead?.messageAttributes.reason?.stringValue).toBe(
      'retries_exhausted:ValidationException',
    );
  });

  it('dead-letters a body that is not a re-link request', async () => {
    await sqs.send(queue.url, ['{"accountId":"acc-1"}']);
    const [record] = await receive(queue.url, 1);

    const failed = await deliver(record!);

    const [dead] = await receive(queue.dlqUrl, 1, queue.dlqArn);
    expect(failed).toEqual([]);
    expect(dead?.messageAttributes.reason?.stringValue).toBe('invalid_body');
  });

  it('reads the API key once per container and never writes it out', () => {
    const written = output.join('');

    expect(secrets.reads()).toBe(1);
    expect(written).toContain('push sent');
    expect(written).toContain('PushesSent');
    expect(written).toContain('PushesNoRecipients');
    expect(written).toContain('PushFailures');
    expect(written).not.toContain(API_KEY);
  });
});
