/**
 * `frequency`: sets or clears the operators' sync interval of one account, or of the whole fleet.
 * An account's override wins over the fleet's, which wins over the owner's own setting and the
 * adaptive rule (core/rules.ts `intervalRule`); every value stays within the configured bounds.
 * The owner's setting is a field of its own: clearing an override leaves it as it was.
 */
import { DynamoAccountStore } from '../../adapters/dynamodb/accounts';
import { DynamoFleetSettingsStore } from '../../adapters/dynamodb/fleet-settings';
import { FLEET_SETTINGS_TTL_MS } from '../../lambdas/shared/fleet-settings';
import {
  accountId,
  parseCommand,
  TARGET_HELP,
  TARGET_OPTIONS,
  targetArgs,
  UsageError,
  wholeNumber,
} from '../args';
import type { Command } from '../command';

export const FREQUENCY_HELP = `Usage: npm run ops -- frequency --account ID (--minutes N | --clear) [--local]
       npm run ops -- frequency --fleet (--minutes N | --clear) [--local]

Sets or clears an operators' sync-interval override. An account's override wins over the
fleet's, and either wins over the interval the owner chose in the app; with none of them, the
adaptive rule decides (quiet accounts sync less often, busy ones more often). Clearing an
override leaves the owner's choice as it was.
Every interval stays within momoSync.sync.minIntervalMinutes and maxIntervalMinutes (cdk.json,
or the --stage's settings). A change applies from each account's next sync; consumers pick up a
fleet change within ${FLEET_SETTINGS_TTL_MS / 60_000} minutes.

  --account ID      the account to change
  --fleet           every account without an operators' override of its own
  --minutes N       the interval in whole minutes, within the bounds
  --clear           remove the override

${TARGET_HELP}
`;

/** Who the change is recorded as: the tool, never a person's name. */
const UPDATED_BY = 'ops-cli';

export const frequencyCommand: Command = {
  name: 'frequency',
  summary: "set or clear an account's or the fleet's sync interval",
  help: FREQUENCY_HELP,
  async run(argv, { openTarget, loadConfig, out, now }) {
    const values = parseCommand(argv, {
      ...TARGET_OPTIONS,
      account: { type: 'string' },
      fleet: { type: 'boolean' },
      minutes: { type: 'string' },
      clear: { type: 'boolean' },
    });
    if (values.help) return { help: true };
    if ((values.account !== undefined) === (values.fleet ?? false)) {
      throw new UsageError('give exactly one of --account ID and --fleet');
    }
    if ((values.minutes !== undefined) === (values.clear ?? false)) {
      throw new UsageError('give exactly one of --minutes N and --clear');
    }
    const account =
      values.account !== undefined ? accountId('--account', values.account) : undefined;
    const target = targetArgs(values);
    const { minIntervalMinutes: min, maxIntervalMinutes: max } = loadConfig(target.stage).sync;
    const minutes =
      values.minutes !== undefined ? wholeNumber('--minutes', values.minutes, min, max) : undefined;

    const opened = await openTarget(target);
    try {
      const change = minutes === undefined ? 'cleared' : `set to ${minutes} minutes`;
      if (account !== undefined) {
        const store = new DynamoAccountStore(opened.doc, opened.tables.accounts);
        const result = await store.update(account, { operatorIntervalMinutes: minutes ?? null });
        if (!result.updated) {
          out(`no account ${account} in ${opened.description}\n`);
          return { code: 1 };
        }
        out(
          `account ${account}: sync interval ${change}; applies from its next sync (due ${result.account.dueAt})\n`,
        );
        return { code: 0 };
      }
      const fleet = new DynamoFleetSettingsStore(opened.doc, opened.tables.control);
      if (minutes === undefined) await fleet.clearSyncInterval(UPDATED_BY, now());
      else await fleet.setSyncInterval(minutes, UPDATED_BY, now());
      out(
        `fleet sync interval ${change} in ${opened.description}; consumers apply it within ` +
          `${FLEET_SETTINGS_TTL_MS / 60_000} minutes, each account from its next sync\n`,
      );
      return { code: 0 };
    } finally {
      opened.close();
    }
  },
};
