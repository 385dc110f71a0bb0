/**
 * What the fan-out writes for operators: AccountsEnqueued and the circuit state as EMF (read
 * back from stdout), and the one summary line per segment task the "fan-out runs" query sums.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LOG_MESSAGES, METRICS } from '../../lib/metrics';
import { captureStdout, datapoints, type StdoutCapture, sumOf } from '../support/emf';
import { lambdaContext, sqsEvent, sqsRecord } from './events';

vi.hoisted(() => {
  const url = (name: string) => `https://sqs.us-east-1.amazonaws.com/123456789012/${name}`;
  Object.assign(process.env, {
    ACCOUNTS_TABLE: 'accounts',
    IDEMPOTENCY_TABLE: 'idempotency',
    CONTROL_TABLE: 'control',
    SYNC_QUEUE_URL: url('momo-sync-sync'),
    FANOUT_QUEUE_URL: url('momo-sync-fanout'),
    FANOUT_SCAN_SEGMENTS: '4',
    POWERTOOLS_METRICS_DISABLED: 'false',
    POWERTOOLS_METRICS_NAMESPACE: 'MomoSync',
    POWERTOOLS_SERVICE_NAME: 'fan-out',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  });
});

const { handler } = await import('../../lambdas/fan-out');

const SERVICE = { service: 'fan-out' };
const sqsMock = mockClient(SQSClient);
const docMock = mockClient(DynamoDBDocumentClient);
let stdout: StdoutCapture;

const dueItem = (n: number) => ({
  accountId: `acc-${n}`,
  ownerId: `user-${n}`,
  dueAt: '2026-03-01T01:30:00.000Z',
  syncStatus: 'active',
});

const segmentTask = sqsEvent(
  sqsRecord({
    body: JSON.stringify({
      runId: 'schedule-2026-03-01T02:00:00.000Z',
      dueBy: '2026-03-01T03:00:00.000Z',
      segment: 2,
      totalSegments: 4,
    }),
    queue: 'momo-sync-fanout',
  }),
);

beforeEach(() => {
  sqsMock.reset();
  docMock.reset();
  sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((entry) => ({
      Id: entry.Id,
      MessageId: 'm',
      MD5OfMessageBody: '',
    })),
    Failed: [],
  }));
  docMock.on(GetCommand, { TableName: 'control' }).resolves({});
  docMock.on(ScanCommand).resolves({ Items: [1, 2, 3].map(dueItem) });
  stdout = captureStdout();
});

afterEach(() => {
  stdout.restore();
});

describe('fan-out metrics', () => {
  it('counts the accounts a segment queued, and reports the circuit closed', async () => {
    await handler(segmentTask, lambdaContext());

    const points = datapoints(stdout.blobs());
    expect(sumOf(points, METRICS.accountsEnqueued, SERVICE)).toBe(3);
    expect(sumOf(points, METRICS.enqueueFailures, SERVICE)).toBe(0);
    const circuit = points.find((point) => point.name === METRICS.circuitOpen);
    expect(circuit?.values).toEqual([0]);
  });

  it('reports the circuit open when it puts a segment off', async () => {
    docMock.on(GetCommand, { TableName: 'control' }).resolves({
      Item: {
        pk: 'circuit#provider',
        status: 'open',
        version: 1,
        trips: 1,
        reopenAt: new Date(Date.now() + 120_000).toISOString(),
      },
    });

    await handler(segmentTask, lambdaContext());

    const points = datapoints(stdout.blobs());
    expect(sumOf(points, METRICS.circuitOpen, SERVICE)).toBe(1);
    expect(sumOf(points, METRICS.accountsEnqueued, SERVICE)).toBe(0);
  });

  it('logs one summary line per segment task with the run, the segment and the counts', async () => {
    await handler(segmentTask, lambdaContext());

    const lines = stdout
      .logs()
      .filter((line) => line.message === LOG_MESSAGES.fanOutSegmentFinished);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: 'fan-out',
      runId: 'schedule-2026-03-01T02:00:00.000Z',
      segment: 2,
      pages: 1,
      enqueued: 3,
      failed: 0,
    });
  });
});
