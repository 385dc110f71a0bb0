/**
 * `account`: one account's sync state, its effective interval and where that comes from, and
 * its recent sync runs. It prints ids, states, times and counts; not the account's name, which
 * its owner chose and may be personal.
 */
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { DynamoFleetSettingsStore } from '../../adapters/dynamodb/fleet-settings';
import { DynamoSyncRunStore } from '../../adapters/dynamodb/sync-runs';
import type { Account, SyncRun } from '../../core/model';
import { type IntervalSource, intervalRule } from '../../core/rules';
import { DEFAULT_SYNC_CONFIG } from '../../core/sync-engine';
import type { MomoSyncConfig } from '../../lib/config';
import {
  accountId,
  parseCommand,
  TARGET_HELP,
  TARGET_OPTIONS,
  targetArgs,
  wholeNumber,
} from '../args';
import type { Command } from '../command';

export const ACCOUNT_HELP = `Usage: npm run ops -- account --id ID [--runs N] [--json] [--local]

Shows an account's sync state (status, last sync and attempt, next due time, failures and last
error code, lease, re-auth episode), its effective sync interval and where it comes from, and its
most recent sync runs, newest first.

  --id ID           the account
  --runs N          how many recent runs to show, 1 to 100 (default 10)
  --json            print one JSON document instead of text

${TARGET_HELP}
`;

/** The interval the next successful sync will use, and which rule gives it. */
export function effectiveInterval(
  account: Account,
  fleetIntervalMinutes: number | undefined,
  sync: MomoSyncConfig['sync'],
): { minutes: number; source: IntervalSource } {
  return intervalRule(account, {
    defaultIntervalMinutes: sync.defaultIntervalMinutes,
    minIntervalMinutes: sync.minIntervalMinutes,
    maxIntervalMinutes: sync.maxIntervalMinutes,
    adaptive: DEFAULT_SYNC_CONFIG.adaptive,
    fleetIntervalMinutes,
  });
}

/** The account's operational fields, without its name. */
function stateOf(account: Account) {
  return {
    accountId: account.accountId,
    ownerId: account.ownerId,
    walletId: account.walletId,
    syncStatus: account.syncStatus,
    lastSyncedAt: account.lastSyncedAt,
    lastAttemptAt: account.lastAttemptAt,
    dueAt: account.dueAt,
    cursor: account.cursor,
    consecutiveFailures: account.consecutiveFailures,
    lastErrorCode: account.lastErrorCode,
    leaseOwner: account.leaseOwner,
    leaseExpiresAt: account.leaseExpiresAt,
    reauth: account.reauth,
    syncIntervalMinutes: account.syncIntervalMinutes,
    operatorIntervalMinutes: account.operatorIntervalMinutes,
    activityScore: account.activityScore,
    balanceMinor: account.balanceMinor,
    currency: account.currency,
  };
}

function renderText(
  account: Account,
  interval: ReturnType<typeof effectiveInterval>,
  runs: SyncRun[],
): string {
  const show = (value: unknown) => (value === undefined ? '-' : String(value));
  const reauth = account.reauth
    ? `episode ${account.reauth.episode} opened ${account.reauth.openedAt}` +
      (account.reauth.closedAt ? `, closed ${account.reauth.closedAt}` : ', open') +
      (account.reauth.notifyResult ? `, push ${account.reauth.notifyResult}` : '')
    : '-';
  const lines = [
    `account ${account.accountId} (owner ${account.ownerId}, wallet link ${account.walletId})`,
    `  status            ${account.syncStatus}`,
    `  last synced       ${show(account.lastSyncedAt)}`,
    `  last attempt      ${show(account.lastAttemptAt)}`,
    `  next due          ${account.dueAt}`,
    `  failures in a row ${account.consecutiveFailures}`,
    `  last error        ${show(account.lastErrorCode)}`,
    `  lease             ${account.leaseOwner ? `held until ${account.leaseExpiresAt}` : 'free'}`,
    `  re-auth           ${reauth}`,
    `  interval          ${interval.minutes} minutes (${interval.source})`,
    `  activity score    ${show(account.activityScore)}`,
    '',
    runs.length === 0 ? 'no recent sync runs' : `last ${runs.length} sync run(s), newest first:`,
    ...runs.map(
      (run) =>
        `  ${run.startedAt}  ${run.trigger.padEnd(12)} ${run.outcome.padEnd(19)} ` +
        `${String(run.durationMs).padStart(7)} ms  +${run.counts.added} ~${run.counts.updated} ` +
        `-${run.counts.removed}  ${run.counts.providerCalls} calls` +
        (run.errorCode ? `  ${run.errorCode}` : ''),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export const accountCommand: Command = {
  name: 'account',
  summary: "show an account's sync state and recent runs",
  help: ACCOUNT_HELP,
  async run(argv, { openTarget, loadConfig, out }) {
    const values = parseCommand(argv, {
      ...TARGET_OPTIONS,
      id: { type: 'string' },
      runs: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.help) return { help: true };
    const id = accountId('--id', values.id);
    const limit = values.runs === undefined ? 10 : wholeNumber('--runs', values.runs, 1, 100);
    const target = targetArgs(values);
    const config = loadConfig(target.stage);

    const opened = await openTarget(target);
    try {
      const account = await new DynamoAccountStore(opened.doc, opened.tables.accounts).get(
        id,
        true,
      );
      if (!account) {
        out(`no account ${id} in ${opened.description}\n`);
        return { code: 1 };
      }
      const [fleet, page] = await Promise.all([
        new DynamoFleetSettingsStore(opened.doc, opened.tables.control).get(),
        new DynamoSyncRunStore(opened.doc, opened.tables.syncRuns).listByAccount(id, { limit }),
      ]);
      const interval = effectiveInterval(account, fleet.syncIntervalMinutes, config.sync);
      if (values.json) {
        out(
          `${JSON.stringify({ account: stateOf(account), interval, runs: page.items }, null, 2)}\n`,
        );
      } else {
        out(renderText(account, interval, page.items));
      }
      return { code: 0 };
    } finally {
      opened.close();
    }
  },
};
