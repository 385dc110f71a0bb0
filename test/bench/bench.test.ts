import { describe, expect, it } from 'vitest';
import { median } from '../../bench/cold-start';
import { type BenchJson, TARGETS, targetChecks } from '../../bench/report';
import { DEFAULTS, parseBenchOptions, UsageError } from '../../bench/run';
import { concurrencyFor } from '../../bench/world';

/** Figures that meet every target, overridable one by one. */
function makeFigures(overrides: Partial<BenchJson> = {}): BenchJson {
  return {
    accounts: 300,
    transactions: 2000,
    latency_ms: 300,
    rate_limit_per_s: 10,
    consumer_concurrency: 4,
    consumer_min_interval_ms: 400,
    wall_s: 31,
    lower_bound_s: 30,
    rate_limit_utilization: 0.95,
    uptodate_wall_s: 30.5,
    uptodate_rate_limit_utilization: 0.98,
    sequential_baseline_s: 100,
    baseline_s_per_account: 0.33,
    speedup_vs_sequential: 3.2,
    write_units_per_new_tx: 1,
    write_units_per_new_tx_all_tables: 1,
    write_units_per_uptodate_account: 3,
    provider_calls_per_uptodate_account: 1,
    provider_calls_per_account_first_run: 1,
    throttled_429: 0,
    sqs_requests_per_account: 0.33,
    sqs_requests_per_account_first_run: 0.34,
    sqs_requests_uptodate_by_operation: {},
    bundle_kb: { 'fan-out': 480, 'sync-account': 490 },
    init_ms: { 'fan-out': 90, 'sync-account': 95 },
    init_ms_empty: 10,
    bundle_kb_empty: 0.2,
    lost: 0,
    duplicated: 0,
    stale_status: 0,
    baseline_lost: 0,
    baseline_duplicated: 0,
    invariants_ok: true,
    bench_total_s: 170,
    ...overrides,
  };
}

describe('parseBenchOptions', () => {
  it('takes the defaults when nothing is given', () => {
    expect(parseBenchOptions([])).toEqual({
      accounts: DEFAULTS.accounts,
      latencyMs: DEFAULTS.latencyMs,
      rateLimitPerSecond: DEFAULTS.rateLimitPerSecond,
      transactionsPerAccount: DEFAULTS.transactionsPerAccount,
      coldStart: true,
      seed: DEFAULTS.seed,
      json: false,
    });
  });

  it('reads every option', () => {
    const argv = ['--accounts', '50', '--latency-ms', '20', '--rate-limit', '5'];
    argv.push('--concurrency', '3', '--transactions', '1-4', '--skip-cold-start', '--json');

    expect(parseBenchOptions(argv)).toMatchObject({
      accounts: 50,
      latencyMs: 20,
      rateLimitPerSecond: 5,
      concurrency: 3,
      transactionsPerAccount: [1, 4],
      coldStart: false,
      json: true,
    });
  });

  it.each([
    [['--accounts', '0'], '--accounts 0 is not a whole number from 1 to 100000'],
    [['--rate-limit', '2.5'], '--rate-limit 2.5 is not a whole number'],
    [['--concurrency', '1'], '--concurrency 1 is not a whole number from 2 to 1000'],
    [['--transactions', '9-2'], '--transactions 9-2 is not a range MIN-MAX'],
    [['--fast'], "Unknown option '--fast'"],
  ])('refuses %j', (argv, message) => {
    expect(() => parseBenchOptions(argv)).toThrow(UsageError);
    expect(() => parseBenchOptions(argv)).toThrow(message);
  });
});

describe('concurrencyFor', () => {
  it.each([
    { rate: 10, cycle: 0.33, expected: 4 },
    { rate: 10, cycle: 0.3, expected: 3 },
    { rate: 20, cycle: 0.26, expected: 6 },
    { rate: 1, cycle: 0.1, expected: 2 },
  ])(
    'sizes $rate req/s at $cycle s per account to $expected batches',
    ({ rate, cycle, expected }) => {
      expect(concurrencyFor(rate, cycle)).toBe(expected);
    },
  );
});

describe('median', () => {
  it.each([
    { values: [5, 1, 3], expected: 3 },
    { values: [4, 1, 3, 2], expected: 2.5 },
    { values: [7], expected: 7 },
  ])('of $values is $expected', ({ values, expected }) => {
    expect(median(values)).toBe(expected);
  });
});

describe('targetChecks', () => {
  it('meets every target with figures that do', () => {
    expect(targetChecks(makeFigures()).filter((check) => !check.ok)).toEqual([]);
  });

  it.each([
    [{ rate_limit_utilization: 0.84 }, `rate-limit utilisation >= ${TARGETS.rateLimitUtilization}`],
    [{ write_units_per_new_tx: 1.03 }, 'write units per new or changed transaction'],
    [{ provider_calls_per_uptodate_account: 1.06 }, 'provider calls per up-to-date account'],
    [{ sqs_requests_per_account: 0.36 }, 'SQS requests per account'],
    [{ bundle_kb: { notifier: 734.5 } }, `no bundle over ${TARGETS.bundleKb} KB`],
    [{ duplicated: 1 }, 'nothing lost or duplicated'],
  ])('misses a target with %j', (overrides, name) => {
    const missed = targetChecks(makeFigures(overrides)).filter((check) => !check.ok);

    expect(missed.map((check) => check.name)).toEqual([expect.stringContaining(name)]);
  });
});
