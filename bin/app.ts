#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config';
import { MomoSyncStack } from '../lib/momo-sync-stack';

const app = new App();
const config = loadConfig(app.node);
new MomoSyncStack(app, config.stage ? `MomoSync-${config.stage}` : 'MomoSync', {
  config,
  description: 'momo-sync: background sync of linked MTN MoMo wallets',
});
app.synth();
