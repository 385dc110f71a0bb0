/**
 * The cdk-nag gate of `npm run synth`: the stack passes the AwsSolutions rules with only the
 * findings lib/nag.ts accepts, every one of those still matches a real finding, and a new
 * unacknowledged finding stops the synth.
 */
import { App, Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { MomoSyncStack } from '../../lib/momo-sync-stack';
import { acceptedFindings, acknowledgeFindings, addNagChecks } from '../../lib/nag';
import { type BuildOptions, testContext } from './stack';

/** A stack built the way bin/app.ts builds it, with or without the acknowledgements. */
function nagApp(options: BuildOptions & { acknowledge?: boolean } = {}) {
  const app = new App({ context: testContext(options) });
  const stack = new MomoSyncStack(app, 'MomoSyncNag', { config: loadConfig(app.node) });
  if (options.acknowledge !== false) acknowledgeFindings(stack);
  return { app, stack };
}

/** The rule ids cdk-nag reports for the stack. */
function findings(options: BuildOptions & { acknowledge?: boolean } = {}): string[] {
  const { app, stack } = nagApp(options);
  return new AwsSolutionsChecks(app)
    .validateScope(stack)
    .violations.map((violation) => violation.ruleName)
    .sort();
}

describe('cdk-nag AwsSolutions gate', () => {
  it.each([
    ['the default configuration', {}],
    ['customer-managed keys', { momoSync: { encryption: 'customer-managed' } }],
    ['an alarm email', { momoSync: { monitoring: { alarmEmail: 'oncall@example.com' } } }],
  ])('passes with %s once the accepted findings are acknowledged', (_label, options) => {
    expect(findings(options)).toEqual([]);
  });

  it('accepts only findings the stack really has, so no acknowledgement outlives its cause', () => {
    const { stack } = nagApp({ acknowledge: false });
    const accepted = [...new Set(acceptedFindings(stack).map((finding) => finding.id))].sort();

    expect(findings({ acknowledge: false })).toEqual(accepted);
  });

  it('gives every accepted finding a specific reason', () => {
    const { stack } = nagApp({ acknowledge: false });

    for (const finding of acceptedFindings(stack)) {
      expect(finding.reason.length).toBeGreaterThan(60);
    }
  });

  it('synthesises with the checks on', () => {
    const { app } = nagApp();
    addNagChecks(app);

    expect(() => app.synth()).not.toThrow();
  });

  it('fails the synth on a new unacknowledged finding, naming the rule', () => {
    // Arrange: a queue with neither encryption, nor TLS enforcement, nor a DLQ.
    const { app, stack } = nagApp();
    new Queue(stack, 'Careless', {
      encryption: QueueEncryption.UNENCRYPTED,
      retentionPeriod: Duration.days(1),
    });
    addNagChecks(app);

    // Act
    let report = '';
    try {
      app.synth();
    } catch (error) {
      report = (error as Error).message;
    }

    // Assert: the report names the queue and each rule it breaks, and nothing else.
    expect(report).toContain('MomoSyncNag/Careless/Resource');
    expect(report).toContain('AwsSolutions-SQS2');
    expect(report).toContain('AwsSolutions-SQS4');
    expect(report).not.toMatch(/MomoSyncNag\/(?!Careless)/);
  });
});
