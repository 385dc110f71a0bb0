/**
 * The fan-out Lambda. Invoked by the scheduler, it plans the run (one task per scan segment, once
 * per run id); invoked by the fan-out queue, it runs one task: pages through a segment and queues
 * a sync per due account. The rules are in core/fan-out.ts; this file is the AWS glue.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { DynamoCircuitStore } from '../../adapters/dynamodb/circuit';
import { createDocumentClient } from '../../adapters/dynamodb/client';
import { SqsFanOutTaskQueue } from '../../adapters/sqs/fan-out-queue';
import { SqsSyncQueue } from '../../adapters/sqs/sync-queue';
import { fanOutDelaySeconds } from '../../core/circuit';
import {
  type FanOutTask,
  InvalidScheduleError,
  planRun,
  type RunPlan,
  runSegment,
} from '../../core/fan-out';
import { systemClock } from '../../core/ports';
import { LOG_MESSAGES, METRICS } from '../../lib/metrics';
import {
  ACCOUNTS_TABLE,
  CONTROL_TABLE,
  FANOUT_QUEUE,
  IDEMPOTENCY_TABLE,
  SYNC_QUEUE,
} from '../../lib/resources';
import { FANOUT_ENV, SYNC_ENV } from '../../lib/settings';
import { intEnv, requireEnv } from '../shared/env';

/** Time kept in hand when deciding whether to read another page (one page and its sends). */
const MIN_REMAINING_MS = 30_000;
/** A page whose messages keep failing to send is queued again at most this many times. */
const MAX_PAGE_RETRIES = 3;
/** How long a page that failed to send waits before it is tried again. */
const PAGE_RETRY_DELAY_SECONDS = 60;
/** Idempotency records outlive every retry of one run (the scheduler gives up within a day). */
const PLAN_RECORD_TTL_SECONDS = 2 * 24 * 3600;

const logger = new Logger();
const metrics = new Metrics();

const settings = {
  accountsTable: requireEnv(ACCOUNTS_TABLE.env),
  idempotencyTable: requireEnv(IDEMPOTENCY_TABLE.env),
  syncQueueUrl: requireEnv(SYNC_QUEUE.env),
  fanOutQueueUrl: requireEnv(FANOUT_QUEUE.env),
  totalSegments: intEnv(FANOUT_ENV.scanSegments, 16),
  dueToleranceMs: intEnv(SYNC_ENV.dueToleranceMinutes, 60) * 60_000,
};

const sqs = new SQSClient({});
const doc = createDocumentClient();
const accounts = new DynamoAccountStore(doc, settings.accountsTable);
// Read once per task, uncached: a task is rare, and it must not queue a segment on stale news.
const circuit = new DynamoCircuitStore(doc, requireEnv(CONTROL_TABLE.env));
const syncQueue = new SqsSyncQueue(sqs, settings.syncQueueUrl);
const taskQueue = new SqsFanOutTaskQueue(sqs, settings.fanOutQueueUrl);
const processor = new BatchProcessor(EventType.SQS);

const idempotencyConfig = new IdempotencyConfig({
  // The run id is the scheduled time: every retry of one occurrence maps to one record.
  eventKeyJmesPath: 'runId',
  expiresAfterSeconds: PLAN_RECORD_TTL_SECONDS,
});

interface PlanOutcome {
  runId: string;
  segments: number;
  /** The request that queued the tasks; another one means this invocation was a repeat. */
  plannedBy: string;
}

/** Queues the run's tasks once per run id, however often the scheduler or Lambda retries. */
const queuePlanOnce = makeIdempotent(
  async (plan: RunPlan, requestId: string): Promise<PlanOutcome> => {
    await taskQueue.put(plan.tasks);
    metrics.addMetric(METRICS.segmentsPlanned, MetricUnit.Count, plan.tasks.length);
    return { runId: plan.runId, segments: plan.tasks.length, plannedBy: requestId };
  },
  {
    persistenceStore: new DynamoDBPersistenceLayer({ tableName: settings.idempotencyTable }),
    config: idempotencyConfig,
  },
);

const scheduleEventSchema = z.object({ scheduledTime: z.string() });

const taskSchema = z.object({
  runId: z.string().check(z.minLength(1)),
  dueBy: z.iso.datetime(),
  segment: z.int().check(z.minimum(0)),
  totalSegments: z.int().check(z.minimum(1)),
  startKey: z.optional(z.record(z.string(), z.unknown())),
  retries: z.optional(z.int().check(z.minimum(0))),
});

/** What the scheduler sends (see SCHEDULE_INPUT in lib/constructs/sync-pipeline.ts). */
export interface ScheduleEvent {
  source?: string;
  scheduledTime: string;
}

async function planScheduledRun(event: ScheduleEvent, context: Context): Promise<PlanOutcome> {
  const parsed = scheduleEventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidScheduleError(undefined);
  const plan = planRun(parsed.data.scheduledTime, settings);
  idempotencyConfig.registerLambdaContext(context);
  const outcome = await queuePlanOnce(plan, context.awsRequestId);
  const repeat = outcome.plannedBy !== context.awsRequestId;
  logger.info(repeat ? 'run already planned' : LOG_MESSAGES.runPlanned, {
    runId: outcome.runId,
    segments: outcome.segments,
  });
  return outcome;
}

async function runTask(record: SQSRecord, context?: Context): Promise<void> {
  const parsed = taskSchema.safeParse(safeJson(record.body));
  if (!parsed.success) {
    // A malformed task is a bug, not a transient fault: after the queue's receives it is in the
    // fan-out DLQ, where an operator can read it.
    logger.error('invalid fan-out task', { messageId: record.messageId });
    throw new Error('invalid fan-out task');
  }
  const task: FanOutTask = parsed.data;
  const delaySeconds = fanOutDelaySeconds(await circuit.read(), systemClock.now());
  // The circuit alarm watches this too: with the queues empty no consumer runs to report it.
  metrics.addMetric(METRICS.circuitOpen, MetricUnit.Count, delaySeconds === undefined ? 0 : 1);
  if (delaySeconds !== undefined) {
    // The provider circuit is open: queue no sync, look at this segment again when it may close.
    await taskQueue.put([task], { delaySeconds });
    logger.warn('segment deferred by the provider circuit', {
      runId: task.runId,
      segment: task.segment,
      delaySeconds,
    });
    return;
  }
  const result = await runSegment({ accounts, syncQueue }, task, {
    remainingTimeMs: () => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY,
    minRemainingMs: MIN_REMAINING_MS,
  });
  metrics.addMetric(METRICS.accountsEnqueued, MetricUnit.Count, result.enqueued);
  metrics.addMetric(METRICS.enqueueFailures, MetricUnit.Count, result.failed);
  logger.info(LOG_MESSAGES.fanOutSegmentFinished, {
    runId: task.runId,
    segment: task.segment,
    pages: result.pages,
    enqueued: result.enqueued,
    failed: result.failed,
    requests: result.requests,
    continues: result.next !== undefined,
  });
  if (result.next === undefined) return;
  if (result.retryPage && (result.next.retries ?? 0) > MAX_PAGE_RETRIES) {
    // Hand the task back to the queue: it is retried later, then dead-lettered.
    throw new Error('sync messages not queued');
  }
  await taskQueue.put([result.next], {
    delaySeconds: result.retryPage ? PAGE_RETRY_DELAY_SECONDS : undefined,
  });
}

function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

const isSqsEvent = (event: unknown): event is SQSEvent =>
  typeof event === 'object' && event !== null && Array.isArray((event as SQSEvent).Records);

async function fanOut(
  event: ScheduleEvent | SQSEvent,
  context: Context,
): Promise<SQSBatchResponse | PlanOutcome> {
  if (isSqsEvent(event)) {
    // Batches hold one task: report it as a failed item like any other, not as an error.
    return processPartialResponse(event, runTask, processor, {
      context,
      throwOnFullBatchFailure: false,
    });
  }
  return planScheduledRun(event, context);
}

export const handler = middy(fanOut)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
