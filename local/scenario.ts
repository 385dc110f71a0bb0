/**
 * Chaos scenario files (issue 4): what a soak runs, as JSON. `npm start --scenario FILE` takes
 * the world's size, seed, latency and rate limit from one; the faults and rounds are run by
 * `npm run chaos`. Unknown keys and out-of-range values are refused with the key, the value and
 * the allowed range, never a stack trace.
 */
import { readFile } from 'node:fs/promises';
import * as z from 'zod';

const rate = z.number().min(0).max(1);

/** An inclusive [min, max] count of transactions. */
const transactionRange = z.tuple([
  z.number().int().min(0).max(10_000),
  z.number().int().min(0).max(10_000),
]);

const faultsSchema = z.strictObject({
  serverErrorRate: rate.default(0),
  timeoutRate: rate.default(0),
  rateLimitBurstRate: rate.default(0),
  accountAuthFailureRate: rate.default(0),
  platformAuthFailure: z.boolean().default(false),
  statusChangeRate: rate.default(0),
  lateArrivalRate: rate.default(0),
  removalRate: rate.default(0),
  duplicateAcrossPagesRate: rate.default(0),
  consumerCrashRate: rate.default(0),
});

const scenarioSchema = z
  .strictObject({
    seed: z.union([z.string().min(1), z.number().int()]).default('chaos'),
    accounts: z.number().int().min(1).max(100_000).default(12),
    transactionsPerAccount: transactionRange.default([5, 40]),
    latencyMs: z.number().int().min(0).max(60_000).default(0),
    rateLimitPerSecond: z.number().min(0).max(100_000).default(0),
    rounds: z.number().int().min(1).max(1000).default(1),
    /** Largest statement page the simulator serves: small pages exercise checkpoints. */
    pageSize: z.number().int().min(1).max(1000).default(100),
    /** New transactions per wallet in each round of a soak, inclusive range. */
    newTransactionsPerRound: transactionRange.default([0, 3]),
    /** Chance per account and round that its owner also asks for a sync (the manual queue). */
    manualSyncRate: rate.default(0),
    faults: faultsSchema.prefault({}),
  })
  .refine((scenario) => scenario.transactionsPerAccount[0] <= scenario.transactionsPerAccount[1], {
    path: ['transactionsPerAccount'],
    message: 'the minimum is above the maximum',
  })
  .refine(
    (scenario) => scenario.newTransactionsPerRound[0] <= scenario.newTransactionsPerRound[1],
    { path: ['newTransactionsPerRound'], message: 'the minimum is above the maximum' },
  );

export type Scenario = z.infer<typeof scenarioSchema>;

/** A scenario file that cannot be used; the message says which key and why. */
export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** Validates a parsed scenario; throws {@link ScenarioError} listing every problem. */
export function parseScenario(value: unknown, source = 'scenario'): Scenario {
  const parsed = scenarioSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const path = issue.path.join('.') || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length > 0 ? `${path}: ` : '';
      return `${where}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    }
    return `${path}: ${issue.message}${given(value, issue.path)}`;
  });
  throw new ScenarioError(`${source}: ${problems.join('; ')}`);
}

/** ` (got X)` for the value at a path of the input, when there is one to show. */
function given(input: unknown, path: PropertyKey[]): string {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
}

/** Reads and validates a scenario file. */
export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return parseScenario(json, file);
}
