/**
 * The operator CLI's command line: help, and every kind of bad input refused with one line and
 * exit 2 before any target is opened (the target factory here fails the test if it is called).
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../../ops/cli';
import type { OpenTarget } from '../../ops/target';

/** Runs the CLI with captured output and a target that must never be opened. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  let opened = 0;
  const openTarget: OpenTarget = async () => {
    opened += 1;
    throw new Error('the target must not be opened');
  };
  const code = await runCli(argv, {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    openTarget,
    now: () => new Date('2026-03-01T08:15:30Z'),
  });
  return { code, out: out.join(''), err: err.join(''), opened };
}

describe('ops CLI help', () => {
  it('lists the commands with --help and exits 0', async () => {
    const result = await cli('--help');

    expect(result.code).toBe(0);
    for (const name of ['redrive', 'account', 'frequency', 'fan-out']) {
      expect(result.out).toContain(`  ${name}`);
    }
  });

  it('shows the usage and exits 2 without a command', async () => {
    const result = await cli();

    expect(result.code).toBe(2);
    expect(result.out).toContain('Usage: npm run ops -- <command>');
  });

  it.each([
    ['redrive', '--queue NAME'],
    ['account', '--id ID'],
    ['frequency', '--fleet (--minutes N | --clear)'],
    ['fan-out', '--time ISO'],
  ])('prints the help of %s with --help, touching nothing', async (command, shown) => {
    const result = await cli(command, '--help');

    expect(result.code).toBe(0);
    expect(result.out).toContain(`Usage: npm run ops -- ${command}`);
    expect(result.out).toContain(shown);
    expect(result.out).toContain('--local');
    expect(result.opened).toBe(0);
  });
});

describe('ops CLI refusals', () => {
  it.each([
    [['purge'], 'ops: unknown command "purge": use one of redrive, account, frequency, fan-out'],
    [['redrive'], '--queue is required: one of sync, manual, fanout, notify'],
    [
      ['redrive', '--queue', 'sync-dlq', '--dry-run'],
      'unknown queue "sync-dlq": use one of sync, manual, fanout, notify',
    ],
    [['redrive', '--queue', 'sync', '--max', '0'], '--max 0 is not a whole number from 1'],
    [['redrive', '--queue', 'sync', '--max', 'all'], '--max all is not a whole number'],
    [['redrive', '--queue', 'sync', '--force'], 'unknown option --force'],
    [['redrive', '--queue'], "Option '--queue <value>' argument missing"],
    [['redrive', 'sync'], 'unexpected argument sync'],
    [
      ['redrive', '--queue', 'sync', '--local', '--stage', 'prod'],
      '--local runs against the local stack',
    ],
    [
      ['redrive', '--queue', 'sync', '--stage', 'prod!'],
      '--stage "prod!" is not a stack or stage name',
    ],
    [['redrive', '--queue', 'sync', '--region', 'mars'], '--region "mars" is not an AWS region'],
    [['account'], '--id is required'],
    [['account', '--id', 'acc 1'], '--id "acc 1" is not an account id'],
    [
      ['account', '--id', 'acc-1', '--runs', '500'],
      '--runs 500 is not a whole number from 1 to 100',
    ],
    [['fan-out', '--time', '2026-03-01 02:00'], '--time 2026-03-01 02:00 is not a UTC time'],
    [['fan-out', '--time', '2026-03-01T02:00:00+01:00'], 'is not a UTC time'],
    [
      ['fan-out', '--time', '2026-02-30T02:00:00Z'],
      '--time 2026-02-30T02:00:00Z is not a UTC time',
    ],
    [
      ['fan-out', '--time', '2026-02-28T24:00:00Z'],
      '--time 2026-02-28T24:00:00Z is not a UTC time',
    ],
    [
      ['fan-out', '--time', '2026-03-02T02:00:00Z'],
      '--time 2026-03-02T02:00:00Z is in the future: give the scheduled time of a past run',
    ],
  ])('refuses %j with one line and exit 2, before opening any target', async (argv, message) => {
    const result = await cli(...argv);

    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(result.err.trim().split('\n')).toHaveLength(1);
    expect(result.opened).toBe(0);
  });
});

describe('ops frequency bounds', () => {
  it.each([
    [['--minutes', '59'], '--minutes 59 is not a whole number from 60 to 10080'],
    [['--minutes', '10081'], '--minutes 10081 is not a whole number from 60 to 10080'],
    [['--minutes', '90.5'], '--minutes 90.5 is not a whole number'],
    [
      ['--minutes', '-60'],
      '--minutes takes a value; write one that starts with "-" as --minutes=VALUE',
    ],
    [['--minutes', '720', '--clear'], 'give exactly one of --minutes N and --clear'],
    [[], 'give exactly one of --minutes N and --clear'],
    [['--minutes=-60'], '--minutes -60 is not a whole number from 60 to 10080'],
  ])('refuses the fleet interval %j', async (args, message) => {
    const result = await cli('frequency', '--fleet', ...args);

    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
    expect(result.opened).toBe(0);
  });

  it.each([
    [['--account', 'acc-1', '--fleet', '--clear'], 'give exactly one of --account ID and --fleet'],
    [['--clear'], 'give exactly one of --account ID and --fleet'],
  ])('refuses %j: one account or the fleet', async (args, message) => {
    const result = await cli('frequency', ...args);

    expect(result.code).toBe(2);
    expect(result.err).toContain(message);
  });

  it('takes the bounds of the stage it is given', async () => {
    const result = await cli('frequency', '--fleet', '--minutes', '30', '--stage', 'dev');

    expect(result.code).toBe(2);
    expect(result.err).toContain('from 60 to 10080');
  });

  it('refuses a stage cdk.json lacks, naming the flag and the stages it has', async () => {
    const result = await cli('frequency', '--fleet', '--minutes', '720', '--stage', 'staging');

    expect(result.code).toBe(2);
    expect(result.err).toContain(
      '--stage "staging" has no momoSync.stages entry in cdk.json: use one of dev, prod',
    );
    expect(result.err).not.toContain('-c stage=');
    expect(result.opened).toBe(0);
  });
});
