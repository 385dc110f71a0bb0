/**
 * The cdk-nag gate: `npm run synth` runs the AwsSolutions rules, and a finding that is neither
 * fixed nor acknowledged here fails the synth. Every acknowledgement names the finding exactly
 * (a rule and, for IAM wildcards, the one resource) and says why the stack accepts it;
 * test/lib/nag.test.ts fails when one no longer matches a finding, so the list cannot go stale.
 */
import { type App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { SyncFunction } from './constructs/function';
import type { MomoSyncStack } from './momo-sync-stack';

/** Runs the AwsSolutions rules on every stack of the app when it is synthesised. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** A finding the stack accepts, on the construct it is reported for. */
export interface AcceptedFinding {
  readonly scope: IConstruct;
  /** The rule id as cdk-nag reports it, with the finding in brackets where it has one. */
  readonly id: string;
  readonly reason: string;
}

/** The findings momo-sync accepts; everything else is fixed where the resource is defined. */
export function acceptedFindings(stack: MomoSyncStack): AcceptedFinding[] {
  const findings: AcceptedFinding[] = [];
  for (const fn of stack.node.findAll().filter((node) => node instanceof SyncFunction)) {
    findings.push({
      scope: fn.function,
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is pinned on purpose: the bundle targets node22 and the suite runs on Node ' +
        '20 and 22; moving to a newer runtime is a change of its own with a full test run.',
    });
  }
  findings.push({
    scope: stack.pipeline.scheduleDlq,
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself a dead-letter queue: the schedule target and the fan-out function ' +
      'send their failed events to it (cdk-nag only recognises redrive policies), and it has ' +
      'its own alarm.',
  });
  const schedulerRole = stack.node.children.find((child) =>
    child.node.id.startsWith('SchedulerRoleForTarget'),
  );
  if (schedulerRole) {
    const fanOutId = Stack.of(stack).getLogicalId(stack.pipeline.fanOut.node.defaultChild as never);
    findings.push({
      scope: schedulerRole,
      id: `AwsSolutions-IAM5[Resource::<${fanOutId}.Arn>:*]`,
      reason:
        "The scheduler's role (made by the LambdaInvoke target) may invoke the fan-out " +
        'function and its versions (`:*`), nothing else.',
    });
  }
  return findings;
}

/** Acknowledges each accepted finding on its construct, with its reason. */
export function acknowledgeFindings(stack: MomoSyncStack): void {
  for (const finding of acceptedFindings(stack)) {
    Validations.of(finding.scope).acknowledge({ id: finding.id, reason: finding.reason });
  }
}
