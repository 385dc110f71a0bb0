#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig } from '../lib/config';
import { MomoSyncStack } from '../lib/momo-sync-stack';
import { acknowledgeFindings, addNagChecks } from '../lib/nag';

const app = new App();
try {
  const config = loadConfig(app.node);
  const stack = new MomoSyncStack(app, config.stage ? `MomoSync-${config.stage}` : 'MomoSync', {
    config,
    description: 'momo-sync: background sync of linked MTN MoMo wallets',
  });
  // cdk-nag's AwsSolutions rules: synth fails on any finding not fixed or acknowledged.
  acknowledgeFindings(stack);
  addNagChecks(app);
} catch (error) {
  // A configuration mistake is the operator's to fix: show the message, not a stack trace.
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
app.synth();
