/**
 * `fan-out`: starts a fan-out run now, by invoking the fan-out function asynchronously with the
 * event EventBridge Scheduler sends it. The run id is the scheduled time, so `--time` with the
 * time of a run that failed retries that very run (its planning is idempotent per run id).
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { parseCommand, TARGET_HELP, TARGET_OPTIONS, targetArgs, UsageError } from '../args';
import type { Command } from '../command';

export const FAN_OUT_HELP = `Usage: npm run ops -- fan-out [--time ISO] [--local]

Starts a fan-out run now: the fan-out function is invoked asynchronously with the scheduler's
event, plans one task per scan segment and queues a sync for every due account. Follow it with
the saved query "fan-out runs" (or, locally, the npm start window).

  --time ISO        the run's scheduled time, UTC, e.g. 2026-03-01T02:00:00Z (default: now);
                    the time of a run that failed (schedule DLQ) retries that run; a time in
                    the future is refused

${TARGET_HELP}
`;

/** Where the event says it came from; the fan-out reads only `scheduledTime`. */
export const OPS_EVENT_SOURCE = 'momo-sync.ops';

/** The scheduler-like event for a run at `time`, to the whole second as the scheduler stamps. */
export function fanOutEvent(time: Date) {
  const scheduledTime = new Date(Math.floor(time.getTime() / 1000) * 1000)
    .toISOString()
    .replace('.000Z', 'Z');
  return { source: OPS_EVENT_SOURCE, scheduledTime };
}

function parseTime(raw: string, now: Date): Date {
  const time = new Date(raw);
  // A full UTC instant only: a zone-less time would be read in the operator's own zone. Date
  // rolls a day or hour that does not exist (02-30, 24:00) over: that would be another run.
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(raw) ||
    Number.isNaN(time.getTime()) ||
    time.toISOString().slice(0, 19) !== raw.slice(0, 19)
  ) {
    throw new UsageError(`--time ${raw} is not a UTC time such as 2026-03-01T02:00:00Z`);
  }
  // A run queues every account due by its time: one in the future would sync them early.
  if (time > now) {
    throw new UsageError(
      `--time ${raw} is in the future: give the scheduled time of a past run, or leave it out`,
    );
  }
  return time;
}

export const fanOutCommand: Command = {
  name: 'fan-out',
  summary: 'start a fan-out run now (queues a sync for every due account)',
  help: FAN_OUT_HELP,
  async run(argv, { openTarget, out, now }) {
    const values = parseCommand(argv, { ...TARGET_OPTIONS, time: { type: 'string' } });
    if (values.help) return { help: true };
    const event = fanOutEvent(values.time === undefined ? now() : parseTime(values.time, now()));
    const target = await openTarget(targetArgs(values));
    try {
      const response = await target.lambda.send(
        new InvokeCommand({
          FunctionName: target.fanOutFunction,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      );
      if (response.StatusCode !== 202) {
        out(`the fan-out did not accept the event (status ${response.StatusCode})\n`);
        return { code: 1 };
      }
      out(
        `fan-out started in ${target.description}: run ${event.scheduledTime} ` +
          '(asynchronous; see the saved query "fan-out runs")\n',
      );
      return { code: 0 };
    } finally {
      target.close();
    }
  },
};
