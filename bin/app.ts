#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig } from '../lib/config';
import { MomoSyncStack } from '../lib/momo-sync-stack';

const app = new App();
try {
  const config = loadConfig(app.node);
  new MomoSyncStack(app, config.stage ? `MomoSync-${config.stage}` : 'MomoSync', {
    config,
    description: 'momo-sync: background sync of linked MTN MoMo wallets',
  });
} catch (error) {
  // A configuration mistake is the operator's to fix: show the message, not a stack trace.
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
app.synth();
