/**
 * The benchmark's figures: the JSON object `npm run bench -- --json` ends with, the targets of
 * issue 4 checked against it, and the report people read. docs/benchmark.md explains each figure.
 */

import { providerMinIntervalMs } from '../lib/settings';
import type { BaselineFigures, WorldOptions } from './baseline';
import type { ColdStartFigures } from './cold-start';
import type { FleetFigures } from './fleet';

/** The targets of issue 4. */
export const TARGETS = {
  rateLimitUtilization: 0.85,
  writeUnitsPerNewTx: 1.02,
  providerCallsPerUpToDateAccount: 1.05,
  sqsRequestsPerAccount: 0.35,
  bundleKb: 500,
} as const;

export interface BenchResult {
  world: WorldOptions;
  /** Consumer batches at once, as the fleet ran. */
  concurrency: number;
  baseline: BaselineFigures;
  fleet: FleetFigures;
  /** Absent when the run left cold starts out. */
  coldStart?: ColdStartFigures;
  totalSeconds: number;
}

/** The figures of one run, flat, rounded, snake_case: what `--json` prints. */
export interface BenchJson {
  accounts: number;
  /** New or changed transactions the first run stored. */
  transactions: number;
  latency_ms: number;
  rate_limit_per_s: number;
  consumer_concurrency: number;
  /** Each consumer's spacing between provider calls: its share of the rate limit. */
  consumer_min_interval_ms: number;
  wall_s: number;
  lower_bound_s: number;
  rate_limit_utilization: number;
  uptodate_wall_s: number;
  uptodate_rate_limit_utilization: number;
  sequential_baseline_s: number;
  baseline_s_per_account: number;
  speedup_vs_sequential: number;
  write_units_per_new_tx: number;
  write_units_per_new_tx_all_tables: number;
  write_units_per_uptodate_account: number;
  provider_calls_per_uptodate_account: number;
  provider_calls_per_account_first_run: number;
  throttled_429: number;
  sqs_requests_per_account: number;
  sqs_requests_per_account_first_run: number;
  sqs_requests_uptodate_by_operation: Record<string, number>;
  bundle_kb: Record<string, number>;
  init_ms: Record<string, number>;
  init_ms_empty: number | null;
  bundle_kb_empty: number | null;
  lost: number;
  duplicated: number;
  stale_status: number;
  baseline_lost: number;
  baseline_duplicated: number;
  invariants_ok: boolean;
  bench_total_s: number;
}

const round = (value: number, digits = 3) => Number(value.toFixed(digits));
/** Kilobytes of 1,024 bytes, as file sizes are usually shown. */
const kb = (bytes: number) => round(bytes / 1024, 1);

/** Turns a run into its JSON figures. */
export function benchJson(result: BenchResult): BenchJson {
  const { fleet, baseline, coldStart, concurrency, world } = result;
  const first = fleet.first;
  const up = fleet.upToDate;
  const rate = world.rateLimitPerSecond;
  const lowerBound = first.provider.paced / rate;
  const changed = first.summary.added + first.summary.updated;
  const functions = Object.entries(coldStart?.functions ?? {});
  return {
    accounts: first.accounts,
    transactions: changed,
    latency_ms: world.latencyMs,
    rate_limit_per_s: rate,
    consumer_concurrency: concurrency,
    consumer_min_interval_ms: providerMinIntervalMs(rate, concurrency),
    wall_s: round(first.wallSeconds),
    lower_bound_s: round(lowerBound),
    rate_limit_utilization: round(lowerBound / first.wallSeconds),
    uptodate_wall_s: round(up.wallSeconds),
    uptodate_rate_limit_utilization: round(up.provider.paced / rate / up.wallSeconds),
    sequential_baseline_s: round(baseline.wallSeconds),
    baseline_s_per_account: round(baseline.secondsPerAccount),
    speedup_vs_sequential: round(baseline.wallSeconds / first.wallSeconds, 2),
    // The transactions table alone: the per-account writes (lease, release, run record) are the
    // up-to-date account's cost below, not the transaction's.
    write_units_per_new_tx: round(first.writeUnits.transactions / changed),
    // Cross-check over every table: the first run's units less one up-to-date run's.
    write_units_per_new_tx_all_tables: round(
      (first.writeUnits.total - up.writeUnits.total) / changed,
    ),
    write_units_per_uptodate_account: round(up.writeUnits.total / up.accounts),
    provider_calls_per_uptodate_account: round(up.provider.requests / up.accounts),
    provider_calls_per_account_first_run: round(first.provider.requests / first.accounts),
    throttled_429: first.provider.throttled + up.provider.throttled,
    sqs_requests_per_account: round(up.sqsRequests / up.accounts),
    sqs_requests_per_account_first_run: round(first.sqsRequests / first.accounts),
    sqs_requests_uptodate_by_operation: up.sqsByOperation,
    bundle_kb: Object.fromEntries(functions.map(([name, f]) => [name, kb(f.bundleBytes)])),
    init_ms: Object.fromEntries(functions.map(([name, f]) => [name, round(f.initMs, 1)])),
    init_ms_empty: coldStart ? round(coldStart.empty.initMs, 1) : null,
    bundle_kb_empty: coldStart ? kb(coldStart.empty.bundleBytes) : null,
    lost: fleet.truth.missing,
    duplicated: fleet.truth.duplicated,
    stale_status: fleet.truth.staleStatus,
    baseline_lost: baseline.truth.missing,
    baseline_duplicated: baseline.truth.duplicated,
    invariants_ok: fleet.invariants.every((invariant) => invariant.ok),
    bench_total_s: round(result.totalSeconds, 1),
  };
}

export interface TargetCheck {
  name: string;
  ok: boolean;
  value: string;
}

/** The figures against the targets of issue 4. */
export function targetChecks(json: BenchJson): TargetCheck[] {
  const checks: TargetCheck[] = [
    {
      name: `rate-limit utilisation >= ${TARGETS.rateLimitUtilization}`,
      ok: json.rate_limit_utilization >= TARGETS.rateLimitUtilization,
      value: String(json.rate_limit_utilization),
    },
    {
      name: `write units per new or changed transaction <= ${TARGETS.writeUnitsPerNewTx}`,
      ok: json.write_units_per_new_tx <= TARGETS.writeUnitsPerNewTx,
      value: String(json.write_units_per_new_tx),
    },
    {
      name: `provider calls per up-to-date account <= ${TARGETS.providerCallsPerUpToDateAccount}`,
      ok: json.provider_calls_per_uptodate_account <= TARGETS.providerCallsPerUpToDateAccount,
      value: String(json.provider_calls_per_uptodate_account),
    },
    {
      name: `SQS requests per account <= ${TARGETS.sqsRequestsPerAccount}`,
      ok: json.sqs_requests_per_account <= TARGETS.sqsRequestsPerAccount,
      value: String(json.sqs_requests_per_account),
    },
  ];
  const bundles = Object.entries(json.bundle_kb);
  if (bundles.length > 0) {
    const over = bundles.filter(([, size]) => size > TARGETS.bundleKb);
    checks.push({
      name: `no bundle over ${TARGETS.bundleKb} KB`,
      ok: over.length === 0,
      value: over.length === 0 ? 'none' : over.map(([name, size]) => `${name} ${size}`).join(', '),
    });
  }
  checks.push({
    name: 'nothing lost or duplicated',
    ok: json.lost === 0 && json.duplicated === 0,
    value: `${json.lost} lost, ${json.duplicated} duplicated`,
  });
  return checks;
}

/** The report people read. */
export function renderBenchReport(result: BenchResult, json: BenchJson): string {
  const { fleet, world } = result;
  const first = fleet.first;
  const up = fleet.upToDate;
  const lines: string[] = [];
  const table = (rows: [string, string, string?][]) => {
    const width = Math.max(...rows.map(([label]) => label.length));
    const valueWidth = Math.max(...rows.map(([, value]) => value.length));
    for (const [label, value, note] of rows) {
      lines.push(
        `  ${label.padEnd(width)}  ${value.padStart(valueWidth)}${note ? `  ${note}` : ''}`,
      );
    }
  };
  lines.push(
    `momo-sync benchmark: ${json.accounts} accounts, ${json.transactions} transactions, ` +
      `provider latency ${world.latencyMs} ms, rate limit ${world.rateLimitPerSecond} req/s`,
    '',
    'Throughput, first run (every transaction new), from the scheduler tick to drained queues',
  );
  table([
    [
      `fleet (consumer concurrency ${json.consumer_concurrency}, a call per ${json.consumer_min_interval_ms} ms each)`,
      `${json.wall_s.toFixed(1)} s`,
    ],
    [
      'rate-limit lower bound',
      `${json.lower_bound_s.toFixed(1)} s`,
      `${first.provider.paced} provider calls / ${world.rateLimitPerSecond} per s`,
    ],
    ['utilisation', json.rate_limit_utilization.toFixed(2), 'lower bound / wall'],
    [
      'naive loop, same world',
      `${json.sequential_baseline_s.toFixed(1)} s`,
      `${json.baseline_s_per_account.toFixed(3)} s per account`,
    ],
    ['speedup', `${json.speedup_vs_sequential.toFixed(2)}x`],
    [
      'second run, all up to date',
      `${json.uptodate_wall_s.toFixed(1)} s`,
      `utilisation ${json.uptodate_rate_limit_utilization.toFixed(2)}`,
    ],
  ]);
  const byOperation = Object.entries(json.sqs_requests_uptodate_by_operation)
    .filter(([, count]) => count > 0)
    .map(([operation, count]) => `${operation} ${count}`)
    .join(', ');
  lines.push('', 'Cost per unit of work, counted at the adapters');
  table([
    [
      'write units per new or changed transaction',
      json.write_units_per_new_tx.toFixed(3),
      `transactions table; ${json.write_units_per_new_tx_all_tables.toFixed(3)} from all tables`,
    ],
    [
      'write units per up-to-date account',
      json.write_units_per_uptodate_account.toFixed(3),
      `accounts ${up.writeUnits.accounts}, sync runs ${up.writeUnits.syncRuns}, ` +
        `other ${up.writeUnits.other}, refused conditions ${up.writeUnits.conditionalFailures}`,
    ],
    [
      'provider calls per up-to-date account',
      json.provider_calls_per_uptodate_account.toFixed(3),
      `${up.provider.tokens} token, ${up.provider.throttled} answered 429`,
    ],
    [
      'provider calls per account, first run',
      json.provider_calls_per_account_first_run.toFixed(3),
      `${first.provider.tokens} token, ${first.provider.throttled} answered 429`,
    ],
    ['SQS requests per account', json.sqs_requests_per_account.toFixed(3), byOperation],
  ]);
  if (result.coldStart) {
    lines.push('', 'Cold start: bundle as deployed, module load in a fresh node process (median)');
    const rows: [string, string, string?][] = Object.entries(json.bundle_kb).map(([name, size]) => [
      name,
      `${size.toFixed(1)} KB`,
      `${json.init_ms[name]?.toFixed(1)} ms`,
    ]);
    rows.push([
      'empty handler',
      `${json.bundle_kb_empty?.toFixed(1)} KB`,
      `${json.init_ms_empty?.toFixed(1)} ms`,
    ]);
    table(rows);
  }
  lines.push('', 'Correctness, against the simulator');
  table([
    ['lost', String(json.lost)],
    ['duplicated', String(json.duplicated)],
    ['stale status', String(json.stale_status)],
  ]);
  for (const invariant of fleet.invariants) {
    lines.push(`  ${invariant.ok ? 'ok  ' : 'FAIL'}  ${invariant.name}: ${invariant.detail}`);
  }
  const checks = targetChecks(json);
  lines.push('', `Targets: ${checks.filter((check) => check.ok).length} of ${checks.length} met`);
  for (const check of checks) {
    lines.push(`  ${check.ok ? 'met   ' : 'MISSED'}  ${check.name}: ${check.value}`);
  }
  lines.push('', `Benchmark took ${json.bench_total_s.toFixed(0)} s`);
  return `${lines.join('\n')}\n`;
}
