import { runFleet } from './fleet';

const r = await runFleet({
  seed: 'bench',
  epochMs: Date.now(),
  accounts: 100,
  transactionsPerAccount: [5, 40],
  latencyMs: 100,
  rateLimitPerSecond: 20,
  concurrency: 4,
});
console.log(r.first.wallSeconds, r.upToDate.wallSeconds);
